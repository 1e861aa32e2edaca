// The README's demo: a small climate-like Zarr v3 dataset (time × lat × lon, two variables and their
// coordinates) written with zarrita into the on-disk store, flushed to a root CID, then opened again
// from that CID alone and read back: a map slice and one point's time series.
// Usage: npm run demo [-- <store directory>]   (default: ./.ts-hamt-demo)
import * as zarr from 'zarrita'
import { HAMT, ZarrHAMTStore } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { registerZstdCodec } from '../src/zstd/node.js'

registerZstdCodec() // zarrita's zstd chunks decode with Node's zlib (22.15+) or zstddec

const directory = process.argv[2] ?? '.ts-hamt-demo'
const [days, lats, lons] = [30, 18, 36] // daily, on a 10° grid
const zstd = [
  { name: 'bytes', configuration: { endian: 'little' } },
  { name: 'zstd', configuration: { level: 3, checksum: false } },
]

// --- write ------------------------------------------------------------------------------------
const store = await DiskStore.open(directory)
const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
const dataset = await zarr.create(zarr.root(new ZarrHAMTStore(map)), {
  attributes: { title: 'ts-hamt demo: a month of synthetic weather', source: 'examples/demo.ts' },
})

/** One array as xarray reads it: named dimensions, an explicit bytes codec, NaN as the float fill. */
async function write(
  name: string,
  dims: string[],
  chunkShape: number[],
  data: Float32Array | Float64Array,
  attributes: Record<string, unknown>,
): Promise<void> {
  const shape = dims.map((dim) => ({ time: days, lat: lats, lon: lons })[dim] as number)
  const array = await zarr.create(dataset.resolve(name), {
    shape,
    chunkShape,
    dtype: data instanceof Float32Array ? 'float32' : 'float64',
    dimensionNames: dims,
    fillValue: Number.NaN as never,
    codecs: zstd,
    attributes,
  })
  const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
  await zarr.set(array, null, { data, shape, stride } as never)
}

const lat = Float64Array.from({ length: lats }, (_, i) => -85 + i * 10)
const lon = Float64Array.from({ length: lons }, (_, i) => -175 + i * 10)
const temperature = new Float32Array(days * lats * lons)
const precipitation = new Float32Array(days * lats * lons)
for (let t = 0; t < days; t++) {
  for (let y = 0; y < lats; y++) {
    for (let x = 0; x < lons; x++) {
      const i = (t * lats + y) * lons + x
      const latitude = lat[y] as number
      const wave = Math.sin((lon[x] as number) / 30 + t / 5)
      temperature[i] = 300 - 0.6 * Math.abs(latitude) + 4 * wave
      precipitation[i] = Math.max(0, 6 * Math.cos(latitude / 20) + 3 * wave)
    }
  }
}
await write(
  'time',
  ['time'],
  [days],
  Float64Array.from({ length: days }, (_, i) => i),
  {
    units: 'days since 2025-01-01',
  },
)
await write('lat', ['lat'], [lats], lat, { units: 'degrees_north' })
await write('lon', ['lon'], [lons], lon, { units: 'degrees_east' })
await write('air_temperature', ['time', 'lat', 'lon'], [10, lats, lons], temperature, { units: 'K' })
await write('precipitation', ['time', 'lat', 'lon'], [10, lats, lons], precipitation, { units: 'mm/day' })
const root = await map.flush()
console.log(`root ${root}`)
console.log(`wrote ${await map.size()} keys into ${directory}`)

// --- read back, from the root CID alone ---------------------------------------------------------
const reader = new ZarrHAMTStore(
  await HAMT.open<Uint8Array>(root, {
    store: await DiskStore.open(directory),
    readOnly: true,
    valuesAreBytes: true,
  }),
)
const group = await zarr.open(zarr.root(reader), { kind: 'group' })
console.log(`title: ${group.attrs.title}`)
for (const name of ['air_temperature', 'precipitation']) {
  const array = await zarr.open(group.resolve(name), { kind: 'array' })
  console.log(
    `${name}: ${array.dtype} ${array.shape.join(' × ')}, chunks ${array.chunks.join(' × ')}, ${array.attrs.units}`,
  )
}
const air = await zarr.open(group.resolve('air_temperature'), { kind: 'array' })
const slice = await zarr.get(air, [15, zarr.slice(12, 15), zarr.slice(17, 21)]) // day 15, 35..55°N, 5°W..25°E
const rows = Array.from({ length: 3 }, (_, r) =>
  Array.from((slice.data as Float32Array).subarray(r * 4, r * 4 + 4), (v) => v.toFixed(1)).join(' '),
)
console.log(`air_temperature on day 15, 35..55°N × 5°W..25°E (K):\n  ${rows.join('\n  ')}`)
const series = await zarr.get(air, [null, 13, 18]) // every day at 45°N, 5°E
const values = Array.from(series.data as Float32Array)
console.log(
  `at 45°N 5°E over ${values.length} days: min ${Math.min(...values).toFixed(1)} K, max ${Math.max(...values).toFixed(1)} K`,
)
