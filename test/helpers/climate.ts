import * as zarr from 'zarrita'
import type { ShardedZarrStore, ZarrHAMTStore } from '../../src/index.js'

type ZarrStore = ZarrHAMTStore | ShardedZarrStore

/** A variable as the interop tests compare it: flat C-order values, NaN as null. */
export type Variable = {
  shape: number[]
  dtype: string
  values: Array<number | null>
  attrs: Record<string, unknown>
}

// zarr-python needs an explicit bytes codec; zarrita's default (no codecs) is refused there.
const bytesCodec = { name: 'bytes', configuration: { endian: 'little' } }
const zstd = [bytesCodec, { name: 'zstd', configuration: { level: 3, checksum: false } }]

/**
 * Writes a small climate-like dataset with zarrita, in the form xarray reads: a root group with
 * attributes, arrays with `dimension_names`, coordinates as arrays of their own; in `groupPath` if given
 * (a v2 sharded store needs one). Returns what it wrote.
 */
export async function writeClimate(store: ZarrStore, groupPath = ''): Promise<Record<string, Variable>> {
  const [nt, ny, nx] = [4, 6, 8]
  const root = zarr.root(store)
  const group = await zarr.create(groupPath === '' ? root : root.resolve(groupPath), {
    attributes: { title: 'ts-hamt climate', institution: 'ts-hamt tests' },
  })
  const vars: Record<string, Variable> = {}
  const put = async (
    name: string,
    dims: string[],
    shape: number[],
    chunks: number[],
    dtype: 'float32' | 'float64' | 'int32' | 'uint8',
    values: number[],
    attrs: Record<string, unknown>,
    compressed: boolean,
  ): Promise<void> => {
    const isFloat = dtype.startsWith('float')
    const array = await zarr.create(group.resolve(name), {
      shape,
      chunkShape: chunks,
      dtype,
      dimensionNames: dims,
      attributes: attrs,
      fillValue: (isFloat ? Number.NaN : 0) as never,
      codecs: compressed ? zstd : [bytesCodec],
    })
    const Typed = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array }[
      dtype
    ]
    const data = Typed.from(values)
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    await zarr.set(array, null, { data, shape, stride } as never)
    vars[name] = {
      shape,
      dtype,
      attrs,
      values: Array.from(data, (v) => (Number.isNaN(v) ? null : Number(v))),
    }
  }
  const size = nt * ny * nx
  await put('time', ['time'], [nt], [nt], 'int32', [0, 1, 2, 3], { units: 'days since 2020-01-01' }, false)
  await put(
    'lat',
    ['lat'],
    [ny],
    [ny],
    'float32',
    Array.from({ length: ny }, (_, i) => -50 + i * 20),
    { units: 'degrees_north' },
    false,
  )
  await put(
    'lon',
    ['lon'],
    [nx],
    [nx],
    'float32',
    Array.from({ length: nx }, (_, i) => i * 45),
    { units: 'degrees_east' },
    false,
  )
  const temp = Array.from({ length: size }, (_, i) => (i % 17 === 5 ? Number.NaN : 270 + (i % 50) * 0.5))
  await put(
    'temp',
    ['time', 'lat', 'lon'],
    [nt, ny, nx],
    [2, 3, 4],
    'float32',
    temp,
    { units: 'K', long_name: 'air temperature' },
    true,
  )
  const precip = Array.from({ length: size }, (_, i) => Math.sin(i / 7) * 3.25)
  await put(
    'precip',
    ['time', 'lat', 'lon'],
    [nt, ny, nx],
    [4, 6, 8],
    'float64',
    precip,
    { units: 'mm/day' },
    true,
  )
  await put(
    'mask',
    ['lat', 'lon'],
    [ny, nx],
    [ny, nx],
    'uint8',
    Array.from({ length: ny * nx }, (_, i) => i % 3),
    {},
    false,
  )
  return vars
}

/** Reads every array of a Zarr group through zarrita, flattening values like `Variable`. */
export async function readVariable(store: ZarrStore, name: string): Promise<Variable> {
  const array = await zarr.open(zarr.root(store).resolve(name), { kind: 'array' })
  const { data, shape } = await zarr.get(array)
  const values = Array.from(data as ArrayLike<number | bigint>, (v) => {
    const n = Number(v)
    return Number.isNaN(n) ? null : n
  })
  return { shape, dtype: array.dtype, values, attrs: array.attrs as Record<string, unknown> }
}
