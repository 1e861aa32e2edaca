// `zarr get` by label (`--sel time=2024-07-01 --sel lat=45 --method nearest`) through the dataset
// layer, and the CF facts `zarr info` shows (fill values as numbers, scale/offset, time ranges).
import { open } from 'node:fs/promises'
import * as zarr from 'zarrita'
import { hexToBytes } from '../../cas/id.js'
import { readUpTo } from '../../cas/regular-file.js'
import { cfValueDecoder } from '../../dataset/cf.js'
import { decodeTimesWithNaT, labelPeriod, parseTimeUnits } from '../../dataset/cf-time.js'
import { checkGrid, openCheckedArray } from '../../dataset/checked-array.js'
import { openDataset } from '../../dataset/dataset.js'
import type {
  CoordinateValue,
  Label,
  LabelIndexer,
  Method,
  PositionIndexer,
} from '../../dataset/interface.js'
import type { ZarrStore } from '../../dataset/metadata.js'
import { checkChunkSize } from '../../dataset/read.js'
import { cellOf } from '../../dataset/records.js'
import { registerZstdCodec } from '../../zstd/node.js'
import { type Context, rootOf, UsageError } from '../context.js'
import type { Flags } from './command.js'

/** The flags that make `zarr get` select by label through the dataset layer. */
export const labelledFlags = {
  sel: { type: 'string', multiple: true },
  isel: { type: 'string', multiple: true },
  method: { type: 'string' },
  tolerance: { type: 'string' },
  csv: { type: 'boolean' },
  group: { type: 'string' },
  'key-hex': { type: 'string' },
  'key-file': { type: 'string' },
  header: { type: 'string' },
} as const

/** A labelled read: a label flag, or a key without `--select` (which reads raw values, encrypted or not). */
export function wantsLabelled(flags: Flags): boolean {
  const labels = ['sel', 'isel', 'method', 'tolerance', 'csv', 'group'].some(
    (name) => flags[name] !== undefined,
  )
  const keyed = flags['key-hex'] !== undefined || flags['key-file'] !== undefined
  return labels || (keyed && flags.select === undefined)
}

/**
 * `--key-hex` (or `--key-file`) and `--header` as the encryption of a dataset py-hamt encrypted, else
 * undefined. A bad key is a usage error that never echoes it: a typo must not print key bytes into a
 * terminal or a log. `--key-file` keeps the key out of `ps` and shell history.
 */
export async function encryptionOf(flags: Flags): Promise<{ key: Uint8Array; header: string } | undefined> {
  const keyHex = flags['key-hex']
  const keyFile = flags['key-file']
  if (typeof keyHex === 'string' && typeof keyFile === 'string') {
    throw new UsageError('--key-hex or --key-file, not both: the key comes from one of them')
  }
  let key: Uint8Array
  if (typeof keyHex === 'string') {
    if (!HEX_KEY.test(keyHex)) {
      throw new UsageError(`--key-hex must be 64 hex digits (a 32-byte key), got ${keyHex.length} characters`)
    }
    key = hexToBytes(keyHex)
  } else if (typeof keyFile === 'string') key = await readKeyFile(keyFile)
  else {
    if (flags.header !== undefined) {
      throw new UsageError('--header needs --key-hex or --key-file: the key it goes with')
    }
    return undefined
  }
  return { key, header: String(flags.header ?? '') }
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/
/** A key file's bytes read at most: 64 hex digits with a line end, or 32 raw bytes, take far fewer. */
const KEY_FILE_BYTES = 256

/**
 * The key in the file at `path` (a pipe too: `--key-file <(pass show key)`): 64 hex digits (white
 * space around them allowed) or exactly 32 bytes. Read within a bound; never echoed.
 */
async function readKeyFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    const handle = await open(path, 'r')
    try {
      bytes = await readUpTo(handle, KEY_FILE_BYTES + 1)
    } finally {
      await handle.close()
    }
  } catch (error) {
    throw new UsageError(`--key-file ${path} cannot be read: ${(error as Error).message}`, { cause: error })
  }
  const text = bytes.length <= KEY_FILE_BYTES ? new TextDecoder().decode(bytes).trim() : ''
  if (HEX_KEY.test(text)) return hexToBytes(text)
  if (bytes.length === 32) return bytes
  throw new UsageError(
    `--key-file ${path} must hold 64 hex digits or 32 bytes (a 32-byte key), got ${bytes.length > KEY_FILE_BYTES ? `more than ${KEY_FILE_BYTES}` : bytes.length} bytes`,
  )
}

function pairs(values: unknown, flag: string): Array<[string, string]> {
  const list = Array.isArray(values) ? (values as string[]) : values === undefined ? [] : [String(values)]
  return list.map((item) => {
    const at = item.indexOf('=')
    if (at <= 0) throw new UsageError(`--${flag} takes DIM=VALUE, got ${JSON.stringify(item)}`)
    return [item.slice(0, at), item.slice(at + 1)]
  })
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/

/** The step of a `--sel` slice `a..b..step`: a nonzero integer (below 0 runs backwards, as xarray's). */
function sliceStep(dim: string, text: string, step: string): number {
  const value = Number(step)
  if (!/^[-+]?\d+$/.test(step.trim()) || !Number.isSafeInteger(value) || value === 0) {
    throw new UsageError(`--sel ${dim}=${text}: the step ${JSON.stringify(step)} is not a nonzero integer`)
  }
  return value
}

/**
 * `--sel` values: a label, `a,b,c` (a list), `a..b` or `a..b..step` (a slice, both ends included,
 * either may be empty). Labels of a dimension `keepsText` names stay text: on a time `time=2024` is the year, as
 * in xarray, not 2024 of the file's units; on a string coordinate `station=72503` is the id.
 */
export function parseSel(
  values: unknown,
  keepsText: (dim: string) => boolean = () => false,
): Record<string, LabelIndexer> {
  const indexers: Record<string, LabelIndexer> = {}
  for (const [dim, text] of pairs(values, 'sel')) {
    const label = (item: string): string | number =>
      !keepsText(dim) && NUMBER.test(item.trim()) ? Number(item) : item.trim()
    const range = text.split('..')
    if (range.length === 2 || range.length === 3) {
      const [start, stop, step] = range as [string, string, string | undefined]
      indexers[dim] = {
        ...(start === '' ? {} : { start: label(start) }),
        ...(stop === '' ? {} : { stop: label(stop) }),
        ...(step === undefined || step === '' ? {} : { step: sliceStep(dim, text, step) }),
      }
    } else if (text.includes(',')) indexers[dim] = text.split(',').map(label)
    else indexers[dim] = label(text)
  }
  return indexers
}

/**
 * A time's labels in a list, or with a method, as the instants they start at (xarray given datetimes:
 * its cftime index takes no string there); a lone label stays text, the period it names.
 */
function asInstants(indexer: LabelIndexer, calendar: string, method: boolean): LabelIndexer {
  const instant = (label: Label): Label =>
    typeof label === 'string' ? labelPeriod(label, calendar).start : label
  if (Array.isArray(indexer)) return indexer.map(instant)
  return method && typeof indexer === 'string' ? instant(indexer) : indexer
}

/**
 * `--isel` values: a position, `a,b,c`, or `start:stop[:step]` (a step below 0 runs backwards). A malformed one is a
 * UsageError naming it; a slice's bounds past ±2^53 clamp, selecting to an end as Python's do.
 */
export function parseIsel(values: unknown): Record<string, PositionIndexer> {
  const indexers: Record<string, PositionIndexer> = {}
  for (const [dim, text] of pairs(values, 'isel')) {
    const refuse = (why: string): UsageError => new UsageError(`--isel ${dim}=${text}: ${why}`)
    const int = (part: string): number => {
      if (!/^-?\d+$/.test(part)) throw refuse(`${JSON.stringify(part)} is not an integer`)
      return Number(part)
    }
    if (text.includes(':')) {
      const parts = text.split(':')
      if (parts.length > 3) throw refuse('a slice is start:stop or start:stop:step')
      const [start, stop, step] = parts.map((part) =>
        part === '' ? undefined : Math.min(Math.max(int(part), -MAX_POSITION), MAX_POSITION),
      )
      if (step === 0) throw refuse('the step must be a nonzero integer (below 0 runs backwards), got 0')
      indexers[dim] = { start, stop, step }
      continue
    }
    const positions = text.split(',').map((part) => {
      const position = int(part)
      if (!Number.isSafeInteger(position)) throw refuse(`position ${part} is past 2^53, beyond any array`)
      return position
    })
    indexers[dim] = positions.length === 1 ? (positions[0] as number) : positions
  }
  return indexers
}

const MAX_POSITION = Number.MAX_SAFE_INTEGER

function coordinateJson(value: readonly CoordinateValue[] | CoordinateValue): unknown {
  return Array.isArray(value) ? value.map(cellOf) : cellOf(value as CoordinateValue)
}

export async function getLabelled(
  context: Context,
  root: string | undefined,
  name: string,
  flags: Flags,
  limit: number,
): Promise<void> {
  if (flags.csv === true && context.output.json) throw new UsageError('--csv and --json exclude each other')
  // A number is in the coordinate's units; anything else is a duration for a time ('12h', 'P1D').
  const given = typeof flags.tolerance === 'string' ? flags.tolerance.trim() : undefined
  const tolerance = given === undefined || given === '' || Number.isNaN(Number(given)) ? given : Number(given)
  if (typeof tolerance === 'number' && !(tolerance >= 0)) {
    throw new UsageError(
      `--tolerance must be a number >= 0 or a duration, got ${JSON.stringify(flags.tolerance)}`,
    )
  }
  const encryption = await encryptionOf(flags)
  registerZstdCodec() // the CLI is its own process: zarrita's registry is ours to configure
  const ds = await openDataset(await rootOf(context, root), {
    store: await context.store(),
    signal: context.signal,
    ...(typeof flags.group === 'string' ? { group: flags.group } : {}),
    ...(encryption === undefined ? {} : { encryption }),
  })
  const options = {
    ...(typeof flags.method === 'string' ? { method: flags.method as Method } : {}),
    ...(tolerance === undefined ? {} : { tolerance }),
  }
  const calendarOf = (dim: string): string | undefined => {
    try {
      return ds.variables.includes(dim) ? ds.variable(dim).encoding.calendar : undefined
    } catch {
      return undefined // attributes that do not decode: sel says what is wrong with the label
    }
  }
  // Times and strings (Zarr v3 `string`, v2 vlen-utf8 or fixed-width `<U`) take labels as text.
  const keepsText = (dim: string): boolean => {
    if (!ds.variables.includes(dim)) return false
    const { dtype } = ds.variable(dim)
    return dtype === 'string' || dtype.startsWith('v2:U') || calendarOf(dim) !== undefined
  }
  const indexers = parseSel(flags.sel, keepsText)
  for (const [dim, indexer] of Object.entries(indexers)) {
    const calendar = calendarOf(dim)
    if (calendar !== undefined) indexers[dim] = asInstants(indexer, calendar, options.method !== undefined)
  }
  const view = ds.variable(name).isel(parseIsel(flags.isel)).sel(indexers, options)
  const progress = context.output.progress(`reading ${name}`)
  const read = {
    signal: context.signal,
    onProgress: ({ done, total }: { done: number; total: number }) => progress.update(done, total),
  }
  try {
    if (flags.csv === true) {
      for await (const text of view.toCSV(read)) context.output.line(text.slice(0, -1))
      return
    }
    const loaded = await view.load(read)
    const coords = Object.fromEntries(Object.entries(loaded.coords).map(([k, v]) => [k, coordinateJson(v)]))
    const values = Array.from(loaded.values, (v) => (Number.isNaN(v) ? null : v))
    context.output.result(
      { variable: name, dims: loaded.dims, shape: loaded.shape, coords, values, attrs: loaded.attrs },
      () => {
        const rows = loaded.toRecords()
        const shown = rows.slice(0, limit).map((row) =>
          Object.entries(row)
            .map(([k, v]) => `${k}=${v ?? 'NaN'}`)
            .join(' '),
        )
        const more =
          rows.length > shown.length
            ? `\n… (${rows.length - shown.length} more; --csv or --json print all)`
            : ''
        return `${name} (${loaded.dims.join(', ') || 'scalar'}) shape ${loaded.shape.join(' × ') || 'scalar'}\n${shown.join('\n')}${more}`
      },
    )
  } finally {
    progress.done()
  }
}

/** What `zarr info` adds for an array: its CF fill value, scale and offset, and a time coordinate's range. */
export async function cfFacts(
  store: zarr.AsyncReadable,
  path: string,
  meta: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const attrs = (meta.attributes ?? {}) as Record<string, unknown>
  const facts: Record<string, unknown> = {}
  try {
    const cf = cfValueDecoder(attrs, String(meta.data_type), meta.fill_value)
    if (cf.fillValue !== undefined) facts.fillValue = cf.fillValue
    if (cf.missingValues !== undefined) facts.missingValues = cf.missingValues
    if (cf.scaleFactor !== undefined) facts.scaleFactor = cf.scaleFactor
    if (cf.addOffset !== undefined) facts.addOffset = cf.addOffset
  } catch (error) {
    facts.cfError = (error as Error).message
  }
  const shape = meta.shape as number[] | undefined
  const units = attrs.units
  const calendar = typeof attrs.calendar === 'string' ? attrs.calendar : 'standard'
  if (shape?.length === 1 && (shape[0] as number) > 0 && typeof units === 'string') {
    try {
      if (parseTimeUnits(units, calendar) !== undefined) {
        registerZstdCodec()
        // A stranger's coordinate gets the dataset layer's checks (codecs, chunk sizes and lengths).
        const name = path.replace(/^\//, '')
        const array = await openCheckedArray(zarr.root(store as ZarrStore), name, undefined, meta)
        checkChunkSize({ name, ...checkGrid(name, array) })
        const last = (shape[0] as number) - 1
        const ends = await Promise.all([zarr.get(array, [0]), zarr.get(array, [last])])
        const [first, final] = decodeTimesWithNaT(ends as Array<number | bigint>, units, calendar)
        facts.timeRange = [first?.toISOString() ?? null, final?.toISOString() ?? null]
        facts.calendar = calendar
      }
    } catch (error) {
      facts.timeError = (error as Error).message
    }
  }
  return facts
}
