import { HAMT, MemoryStore, mergeZarrRoots } from '/work/wt/revdata/src/index.js'
import { loadBlake3 } from '/work/wt/revdata/src/blocks.js'
await loadBlake3()
const store = await MemoryStore.create()
const N = Number(process.env.N ?? 100000)
const enc = new TextEncoder()
const meta = (units: string) => enc.encode(JSON.stringify({ zarr_format: 3, node_type: 'array', shape: [N, 1], data_type: 'float64', chunk_grid: { name: 'regular', configuration: { chunk_shape: [1, 1] } }, chunk_key_encoding: { name: 'default', configuration: { separator: '/' } }, fill_value: 0, codecs: [{ name: 'bytes', configuration: { endian: 'little' } }], attributes: { units } }))
const m0 = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
await m0.set('zarr.json', enc.encode('{"zarr_format":3,"node_type":"group","attributes":{}}'))
await m0.set('temp/zarr.json', meta('K'))
const base = await m0.flush()
const side = async (from: number, to: number, units?: string) => {
  const m = await HAMT.open<Uint8Array>(base, { store, valuesAreBytes: true, readOnly: false })
  if (units) await m.set('temp/zarr.json', meta(units))
  for (let i = from; i < to; i++) await m.set(`temp/c/${i}/0`, new Uint8Array(new Float64Array([i]).buffer))
  return m.flush()
}
let t = process.cpuUsage()
const a = await side(0, N / 2, 'kelvin')
const b = await side(N / 2, N)
console.log('built', (process.cpuUsage(t).user / 1e6).toFixed(1), 's')
const cpu = async (f: () => Promise<unknown>) => { const s = process.cpuUsage(); await f(); const u = process.cpuUsage(s); return (u.user + u.system) / 1e3 }
const zs: number[] = [], hs: number[] = []
for (let k = 0; k < 3; k++) {
  zs.push(await cpu(() => mergeZarrRoots(base, a, b, { store })))
  hs.push(await cpu(() => HAMT.merge(base, a, b, { store, valuesAreBytes: true })))
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[1]
console.log(`N=${N} mergeZarrRoots ${med(zs).toFixed(0)} ms CPU, HAMT.merge ${med(hs).toFixed(0)} ms CPU`, zs.map(Math.round), hs.map(Math.round))
