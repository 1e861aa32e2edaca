import * as zarr from 'zarrita'
import { decodeUtf8 } from '../../codec/dag-cbor.js'
import { checkGrid, openCheckedArray } from '../../dataset/checked-array.js'
import { nodeMeta, type ZarrStore } from '../../dataset/metadata.js'
import { openZarrRoot, type ZarrLayout } from '../../dataset/open.js'
import { checkChunkSize } from '../../dataset/read.js'
import { InvalidArgumentError, InvalidValueError, isHamtError } from '../../errors.js'
import { ShardedZarrStore } from '../../sharded/store.js'
import { zarrJsonPath } from '../../zarr/keys.js'
import { registerZstdCodec } from '../../zstd/node.js'
import { type Context, rootOf, UsageError } from '../context.js'
import type { Command } from './command.js'
import { cfFacts, encryptionOf, getLabelled, labelledFlags, wantsLabelled } from './zarr-dataset.js'

type Readable = zarr.AsyncReadable & { list?: () => AsyncIterable<string> }

/** The dataset at ROOT as a zarrita store (a HAMT or py-hamt's sharded layout), and its metadata keys. */
async function openZarr(
  context: Context,
  root: string | undefined,
  listMetadata: boolean,
  encryption?: Awaited<ReturnType<typeof encryptionOf>>,
): Promise<{ store: Readable; metadataKeys: string[]; layout: ZarrLayout['kind'] }> {
  const opened = await openZarrRoot(await rootOf(context, root), { store: await context.store(), encryption })
  const store = opened.store
  // Listing walks the whole HAMT (or every shard): only `info` needs it.
  const metadataKeys: string[] = []
  const keys = store instanceof ShardedZarrStore ? store.metadataKeys() : listMetadata ? store.list() : []
  for await (const key of keys) {
    if (zarrJsonPath(key) !== undefined) metadataKeys.push(key)
  }
  return { store, metadataKeys: metadataKeys.sort(), layout: opened.layout.kind }
}

/**
 * A zarr.json as zarr-python reads it, `json.loads` on its bytes: strict UTF-8 after an optional
 * leading BOM (Python detects `utf-8-sig` there), one JSON object.
 */
function parseZarrJson(key: string, bytes: Uint8Array = new Uint8Array()): Record<string, unknown> {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
  let meta: unknown
  try {
    meta = JSON.parse(decodeUtf8(bom ? bytes.subarray(3) : bytes))
  } catch (cause) {
    throw new InvalidArgumentError(`${key} is not UTF-8 JSON`, { cause })
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new InvalidArgumentError(`${key} is not a JSON object`)
  }
  return meta as Record<string, unknown>
}

interface NodeInfo {
  path: string
  kind: 'group' | 'array'
  attributes: Record<string, unknown>
  shape?: number[]
  dtype?: string
  chunks?: number[]
  dimensions?: string[] | null
  codecs?: string[]
  /** CF facts: fill value as a number, scale and offset, a time coordinate's decoded range. */
  cf?: Record<string, unknown>
}

export const zarrCommand: Command = {
  name: 'zarr',
  maxArgs: 3,
  summary: 'zarr info ROOT: groups and arrays; zarr get ROOT ARRAY [--sel DIM=LABEL …|--select …]: values',
  usage:
    'zarr info ROOT | zarr get ROOT VAR [--sel DIM=LABEL]… [--isel DIM=I]… [--method nearest] [--tolerance T] [--csv] [--limit N] | zarr get ROOT ARRAY --select "0,:,10:20"',
  help: `--sel selects by label as xarray's sel: DIM=LABEL (a number, or a time such as 2024-07-01 or
2024-07-01T12:00), DIM=A,B,C (a list) or DIM=A..B (a slice, both ends included; either end may be
empty; DIM=A..B..S steps by S positions, below 0 backwards). --method nearest|pad|ffill|backfill|bfill and --tolerance apply to labels and lists
(a number in the coordinate's units, or a duration on a time: 12h, 1D, 30min, P1DT6H).
--isel selects by position: DIM=3, DIM=1,2 or DIM=start:stop[:step] (step below 0 backwards). --csv prints one line per
value (times ISO, NaN empty), streamed; --group picks the Zarr group, --key-hex (or --key-file
PATH: 64 hex digits or 32 bytes, kept out of ps) and --header open a dataset encrypted by py-hamt. Values are CF-decoded (scale/offset, fill values NaN).
--select takes one item per dimension, comma-separated: an index (3), a slice (10:20, 10:20:2,
:, 5:), or nothing for the whole dimension; it reads raw stored values. --limit caps the values
printed as text (default 100).`,
  flags: { select: { type: 'string' }, limit: { type: 'string', default: '100' }, ...labelledFlags },
  stopsOnAbort: true,
  async run(context, [action, root, arrayPath], flags) {
    // Checked first, for every action: a bad key or a lone --header is refused before anything is read.
    const encryption = await encryptionOf(flags)
    if (action === 'info') {
      // maxArgs (3) is get's; info takes ROOT only.
      if (arrayPath !== undefined) {
        throw new UsageError(`unexpected argument ${JSON.stringify(arrayPath)}: ts-hamt zarr info ROOT`)
      }
      return info(context, root, encryption)
    }
    if (action === 'get') {
      const limit = Number(flags.limit)
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new UsageError(`--limit must be a positive integer, got ${JSON.stringify(flags.limit)}`)
      }
      if (wantsLabelled(flags)) {
        if (flags.select !== undefined)
          throw new UsageError('--select reads raw positions: use --isel with --sel')
        if (arrayPath === undefined) throw new UsageError('VAR is missing: the name of a variable, e.g. temp')
        return getLabelled(context, root, arrayPath, flags, limit)
      }
      return get(context, root, arrayPath, flags.select as string | undefined, limit, encryption)
    }
    throw new UsageError(`zarr needs info or get, got ${JSON.stringify(action)}`)
  },
}

async function info(
  context: Context,
  root: string | undefined,
  encryption: Awaited<ReturnType<typeof encryptionOf>>,
): Promise<void> {
  const { store, metadataKeys, layout } = await openZarr(context, root, true, encryption)
  if (metadataKeys.length === 0)
    throw new InvalidArgumentError(`${root} holds no zarr.json: not a Zarr v3 dataset`)
  const nodes: NodeInfo[] = []
  for (const key of metadataKeys) {
    const path = `/${zarrJsonPath(key)}`
    const bytes = await store.get(`/${key}` as zarr.AbsolutePath)
    const meta = parseZarrJson(key, bytes)
    const attributes = (meta.attributes ?? {}) as Record<string, unknown>
    if (meta.node_type === 'array') {
      const grid = meta.chunk_grid as { configuration?: { chunk_shape?: number[] } } | undefined
      nodes.push({
        path,
        kind: 'array',
        attributes,
        shape: meta.shape as number[],
        dtype: String(meta.data_type),
        chunks: grid?.configuration?.chunk_shape ?? [],
        dimensions: (meta.dimension_names as string[] | undefined) ?? null,
        codecs: ((meta.codecs as Array<{ name: string }> | undefined) ?? []).map((c) => c.name),
        cf: await cfFacts(store, path, meta),
      })
    } else {
      nodes.push({ path, kind: 'group', attributes })
    }
  }
  context.output.result({ root, layout, nodes }, () =>
    [
      `${root}: ${layout === 'sharded' ? 'sharded Zarr (py-hamt ShardedZarrStore)' : 'Zarr on a HAMT'}`,
      ...nodes.map((node) => {
        const attrs =
          Object.keys(node.attributes).length > 0
            ? `\n    attributes: ${JSON.stringify(node.attributes)}`
            : ''
        if (node.kind === 'group') return `${node.path} (group)${attrs}`
        const dims = node.dimensions ? ` (${node.dimensions.join(', ')})` : ''
        return `${node.path}: ${node.dtype} ${node.shape?.join(' × ')}${dims}, chunks ${node.chunks?.join(' × ')}, codecs ${node.codecs?.join(' → ')}${cfText(node.cf)}${attrs}`
      }),
    ].join('\n'),
  )
}

function cfText(cf: Record<string, unknown> | undefined): string {
  if (cf === undefined) return ''
  const parts: string[] = []
  if (cf.fillValue !== undefined) parts.push(`fill value ${String(cf.fillValue)}`)
  if (cf.scaleFactor !== undefined) parts.push(`scale ${cf.scaleFactor}`)
  if (cf.addOffset !== undefined) parts.push(`offset ${cf.addOffset}`)
  if (Array.isArray(cf.timeRange))
    parts.push(`time ${cf.timeRange[0]} to ${cf.timeRange[1]} (${cf.calendar})`)
  return parts.length === 0 ? '' : `\n    ${parts.join(', ')}`
}

async function get(
  context: Context,
  root: string | undefined,
  arrayPath: string | undefined,
  select: string | undefined,
  limit: number,
  encryption: Awaited<ReturnType<typeof encryptionOf>>,
): Promise<void> {
  if (arrayPath === undefined) throw new UsageError('ARRAY is missing: the path of an array, e.g. temp')
  const { store } = await openZarr(context, root, false, encryption)
  registerZstdCodec() // the CLI is its own process: zarrita's registry is ours to configure
  // A stranger's array gets the dataset layer's checks: known codecs, chunk lengths and sizes.
  const path = arrayPath.replace(/^\/+|\/+$/g, '')
  const meta = await nodeMeta(store as ZarrStore, path, context.signal)
  if (meta?.node_type !== 'array') throw new InvalidArgumentError(`${arrayPath} is not an array of ${root}`)
  const array = await openCheckedArray(zarr.root(store as ZarrStore), path, undefined, meta)
  const { shape, chunks } = checkGrid(arrayPath, array)
  checkChunkSize({ name: arrayPath, shape, chunks })
  const selection = parseSelection(select, shape)
  const size = selectionSize(selection, shape)
  if (size > MAX_VALUES) {
    throw new InvalidArgumentError(
      `the selection of ${arrayPath} holds ${size} values, more than ${MAX_VALUES}: narrow it with --select`,
    )
  }
  let chunk: { data: ArrayLike<unknown>; shape: number[] }
  try {
    chunk = (await zarr.get(array, selection, { signal: context.signal })) as typeof chunk
  } catch (error) {
    if (isHamtError(error) || context.signal?.aborted) throw error
    throw new InvalidValueError(`cannot read ${arrayPath}: ${(error as Error)?.message}`, { cause: error })
  }
  // 64-bit integers stay exact: JSON carries them as strings (toJson), text as digits.
  const values = Array.from(chunk.data, (v) => (typeof v === 'number' && Number.isNaN(v) ? null : v))
  context.output.result({ array: arrayPath, dtype: array.dtype, shape: chunk.shape, values }, () => {
    const shown = values.slice(0, limit).map((v) => (v === null ? 'NaN' : String(v)))
    const more =
      values.length > shown.length ? ` … (${values.length - shown.length} more; --json prints all)` : ''
    return `${arrayPath}: ${array.dtype}, selection shape ${chunk.shape.join(' × ') || 'scalar'}\n${shown.join(' ')}${more}`
  })
}

/** Values `zarr get` reads at most (as a dataset's `load()`): 1 GiB of doubles. */
const MAX_VALUES = 2 ** 27

/** How many values a selection of an array of `shape` holds (Python's slice rules). */
function selectionSize(
  selection: Array<number | zarr.Slice | null> | null,
  shape: readonly number[],
): number {
  return shape.reduce((total: number, n, d) => {
    const item = selection?.[d] ?? null
    if (typeof item === 'number') return total
    if (item === null) return total * n
    const step = item.step ?? 1
    if (step === 0) return total // zarrita refuses it
    const clamp = (v: number | null, fallback: number, low: number, high: number): number =>
      v === null ? fallback : Math.min(high, Math.max(low, v < 0 ? v + n : v))
    const length =
      step > 0
        ? Math.ceil((clamp(item.stop, n, 0, n) - clamp(item.start, 0, 0, n)) / step)
        : Math.ceil((clamp(item.start, n - 1, -1, n - 1) - clamp(item.stop, -1, -1, n - 1)) / -step)
    return total * Math.max(0, length)
  }, 1)
}

/** "0,:,10:20" → zarrita's selection for an array of `shape`. */
export function parseSelection(
  text: string | undefined,
  shape: readonly number[],
): Array<number | zarr.Slice | null> | null {
  if (text === undefined || text.trim() === '') return null
  const items = text.split(',').map((item) => item.trim())
  if (items.length !== shape.length) {
    throw new UsageError(`--select has ${items.length} items but the array has ${shape.length} dimensions`)
  }
  return items.map((item, dim) => {
    const size = shape[dim] as number
    if (item === '' || item === ':') return null
    const parts = item.split(':')
    const int = (part: string | undefined, what: string): number | null => {
      if (part === undefined || part === '') return null
      if (!/^-?\d+$/.test(part))
        throw new UsageError(`--select item ${dim + 1} (${item}): ${what} must be an integer`)
      return Number(part)
    }
    if (parts.length === 1) {
      const index = int(parts[0], 'index') as number
      if (index < -size || index >= size) {
        throw new UsageError(`--select item ${dim + 1}: index ${index} is outside 0..${size - 1}`)
      }
      return index < 0 ? size + index : index
    }
    if (parts.length > 3) throw new UsageError(`--select item ${dim + 1} (${item}) is not start:stop[:step]`)
    const step = int(parts[2], 'step')
    if (step !== null && step <= 0) {
      throw new UsageError(`--select item ${dim + 1} (${item}): the step must be a positive integer`)
    }
    return zarr.slice(int(parts[0], 'start'), int(parts[1], 'stop'), step)
  })
}
