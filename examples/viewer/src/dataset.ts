// Opens a published Zarr v3 dataset by its root CID through an IPFS gateway, for the viewer. The
// rest of the viewer sees only `Dataset`, whichever layout (HAMT or py-hamt sharded) holds the data:
// this is the one module that reads, so it can move to a labelled dataset API without the rest changing.
import { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
import {
  InvalidArgumentError,
  openZarrRoot,
  type ShardedZarrStore,
  TrustlessGatewayStore,
  type ZarrHAMTStore,
} from '../../../src/index.js'
import { registerZstdCodec } from '../../../src/zstd/index.js'

/** A data variable the viewer can draw: at least two dimensions, the last two being y and x. */
export interface VariableInfo {
  readonly name: string
  readonly shape: readonly number[]
  /** `dimension_names` from zarr.json, or `dim_0`, `dim_1`, … when the writer gave none. */
  readonly dims: readonly string[]
  readonly units: string
  readonly longName: string
  /** The array's attributes as stored in zarr.json (xarray's `_FillValue` included, undecoded). */
  readonly attributes: Readonly<Record<string, unknown>>
}

/** A 1-D coordinate array (time, lat, lon, …) with its CF units. */
export interface Coordinate {
  readonly name: string
  readonly units: string
  readonly values: Float64Array
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * Where a 2-D slice sits along the dimensions before the last two: one index per dimension (missing
 * ones are 0), or a number as the index along the first (time) with the others at 0.
 */
export type Leading = number | readonly number[]

/** A 2-D slice in row-major order (`values[y * width + x]`), NaN where there is no data. */
export interface Grid {
  readonly width: number
  readonly height: number
  readonly values: Float64Array
}

export interface Dataset {
  readonly layout: 'hamt' | 'sharded'
  readonly root: string
  readonly title: string
  /** The root group's attributes (title, institution, history, …). */
  readonly attributes: Readonly<Record<string, unknown>>
  readonly variables: readonly VariableInfo[]
  /** The coordinate array named like `dim`, when the dataset has one. */
  coordinate(dim: string): Coordinate | undefined
  /** The y/x plane of `variable` at `leading` (ignored for 2-D variables). */
  slice(variable: string, leading: Leading): Promise<Grid>
  /**
   * Every value of `variable` along its first dimension at one y/x cell (3-D and up), the other
   * leading dimensions at `leading` (its first entry is ignored).
   */
  series(variable: string, y: number, x: number, leading?: Leading): Promise<Float64Array>
}

/** How a root CID is laid out, read from its root block. */

/**
 * Opens the dataset at `root` through `gatewayUrl`, every block checked against its CID.
 * The root may be Zarr on a HAMT or py-hamt's sharded layout (`ShardedZarrStore`, v1 or v2).
 *
 * @example
 * ```ts
 * const dataset = await openDataset('bafyr4i…', 'http://127.0.0.1:8080')
 * const grid = await dataset.slice(dataset.variables[0].name, 0)
 * ```
 */
export async function openDataset(root: string, gatewayUrl: string): Promise<Dataset> {
  // The page is the app, so zarrita's registry is ours: zstd chunks decode with zstddec's WebAssembly
  // build, and zarrita's own zstd module (numcodecs' WASM) is fetched only for a frame that needs it.
  registerZstdCodec()
  const rootId = parseRoot(root)
  const store = new TrustlessGatewayStore({ gateways: checkGateway(gatewayUrl), timeoutMs: 30_000 })
  const { layout, store: zarrStore } = await openZarrRoot(rootId, { store })
  return openZarrDataset(zarrStore, root, layout.kind)
}

function parseRoot(root: string): CID {
  try {
    return CID.parse(root.trim())
  } catch (error) {
    throw new InvalidArgumentError(`root must be a CID, got ${JSON.stringify(root)}`, { cause: error })
  }
}

function checkGateway(gatewayUrl: string): string {
  const url = URL.canParse(gatewayUrl) ? new URL(gatewayUrl) : undefined
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new InvalidArgumentError(`gateway must be an http(s) URL, got ${JSON.stringify(gatewayUrl)}`)
  }
  return gatewayUrl
}

type ArrayMetadata = {
  node_type: 'array' | 'group'
  shape?: number[]
  dimension_names?: (string | null)[] | null
  attributes?: Record<string, unknown>
}

/** Either layout's store: both speak zarrita's contract and list a directory's children. */
type DatasetStore = ZarrHAMTStore | ShardedZarrStore

async function openZarrDataset(
  zarrStore: DatasetStore,
  root: string,
  layout: Dataset['layout'],
): Promise<Dataset> {
  const group = await zarr.open(zarr.root(zarrStore), { kind: 'group' })
  const arrays = await listArrays(zarrStore)

  const coordinates = new Map<string, Coordinate>()
  const variables: VariableInfo[] = []
  for (const [name, meta] of arrays) {
    const shape = meta.shape ?? []
    const dims = shape.map((_, i) => meta.dimension_names?.[i] ?? `dim_${i}`)
    const attrs = meta.attributes ?? {}
    if (shape.length === 1 && dims[0] === name) {
      const array = await zarr.open(group.resolve(name), { kind: 'array' })
      const { data } = await zarr.get(array)
      coordinates.set(name, { name, units: text(attrs.units), values: toFloat64(data), attributes: attrs })
    } else if (shape.length >= 2) {
      const longName = text(attrs.long_name)
      variables.push({ name, shape, dims, units: text(attrs.units), longName, attributes: attrs })
    }
  }
  variables.sort((a, b) => a.name.localeCompare(b.name))

  const opened = new Map<string, Promise<zarr.Array<zarr.DataType, DatasetStore>>>()
  const openArray = (name: string): Promise<zarr.Array<zarr.DataType, DatasetStore>> => {
    let array = opened.get(name)
    if (array === undefined) {
      array = zarr.open(group.resolve(name), { kind: 'array' })
      opened.set(name, array)
    }
    return array
  }
  const info = (name: string): VariableInfo => {
    const found = variables.find((v) => v.name === name)
    if (found === undefined)
      throw new InvalidArgumentError(`no drawable variable named ${JSON.stringify(name)}`)
    return found
  }

  return {
    layout,
    root,
    title: text(group.attrs.title),
    attributes: group.attrs,
    variables,
    coordinate: (dim) => coordinates.get(dim),
    async slice(name, leading) {
      const { shape, dims } = info(name)
      const lead = leadingIndices(shape, dims, leading)
      const result = await zarr.get(await openArray(name), [...lead, null, null])
      const [height, width] = shape.slice(-2) as [number, number]
      return { width, height, values: toFloat64(result.data) }
    },
    async series(name, y, x, leading = 0) {
      const { shape, dims } = info(name)
      if (shape.length < 3) throw new InvalidArgumentError(`${name} has no time dimension`)
      const [height, width] = shape.slice(-2) as [number, number]
      const middle = leadingIndices(shape, dims, leading).slice(1)
      const selection = [null, ...middle, checkIndex(y, height, 'y'), checkIndex(x, width, 'x')]
      const result = await zarr.get(await openArray(name), selection)
      return toFloat64(result.data)
    },
  }
}

/**
 * Every array of the root group with its metadata: from the consolidated metadata in the root
 * zarr.json when the writer left some (no listing needed), else by listing the group's children.
 */
async function listArrays(store: DatasetStore): Promise<Map<string, ArrayMetadata>> {
  const readJson = async (key: string): Promise<unknown> => {
    const bytes = await store.get(`/${key}`)
    return bytes === undefined ? undefined : JSON.parse(new TextDecoder().decode(bytes))
  }
  const rootMeta = (await readJson('zarr.json')) as
    | { consolidated_metadata?: { metadata?: object } }
    | undefined
  const consolidated = rootMeta?.consolidated_metadata?.metadata as Record<string, ArrayMetadata> | undefined
  const arrays = new Map<string, ArrayMetadata>()
  if (consolidated !== undefined) {
    for (const [name, meta] of Object.entries(consolidated)) {
      if (meta.node_type === 'array' && !name.includes('/')) arrays.set(name, meta)
    }
    return arrays
  }
  for await (const name of store.listDir('')) {
    const meta = (await readJson(`${name}/zarr.json`)) as ArrayMetadata | undefined
    if (meta?.node_type === 'array') arrays.set(name, meta)
  }
  return arrays
}

/** One checked index per dimension before the last two; the first is called the time step. */
function leadingIndices(shape: readonly number[], dims: readonly string[], leading: Leading): number[] {
  const given = typeof leading === 'number' ? [leading] : leading
  return shape
    .slice(0, -2)
    .map((size, i) => checkIndex(given[i] ?? 0, size, i === 0 ? 'time step' : `${dims[i]} index`))
}

function checkIndex(index: number, size: number, what: string): number {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new InvalidArgumentError(`${what} must be an integer in 0..${size - 1}, got ${index}`)
  }
  return index
}

/** Any numeric Zarr data (int64 comes as BigInt64Array) as doubles. */
function toFloat64(data: unknown): Float64Array {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, Number)
  return Float64Array.from(data as ArrayLike<number>)
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '')
