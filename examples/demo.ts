// The README's demo: a small climate-like map written, flushed, reopened by its root and read back.
// It runs on the in-memory store, whose IDs equal py-hamt's InMemoryCAS; the on-disk default store
// arrives with the storage issue, and this demo will move to it then.
import { bytesToHex, HAMT, MemoryStore } from '../src/index.js'

const store = await MemoryStore.create()
const map = await HAMT.create<{ station: string; day: string; tmax: number; tmin: number }>({ store })

// A year of daily readings for three stations: 1 095 keys such as "station/OSL/2025-03-14".
const stations = { OSL: -4, NYC: 1, SYD: 22 }
const start = Date.UTC(2025, 0, 1)
for (const [station, base] of Object.entries(stations)) {
  for (let day = 0; day < 365; day++) {
    const date = new Date(start + day * 86_400_000).toISOString().slice(0, 10)
    const season = Math.sin(((day - 100) / 365) * 2 * Math.PI) * (station === 'SYD' ? -8 : 12)
    const tmax = Math.round((base + season + 6) * 10) / 10
    await map.set(`station/${station}/${date}`, {
      station,
      day: date,
      tmax,
      tmin: Math.round((tmax - 9) * 10) / 10,
    })
  }
}
const root = await map.flush()
console.log(`wrote ${await map.size()} readings; root ${bytesToHex(root as Uint8Array)}`)

const reader = await HAMT.open<{ tmax: number; tmin: number }>(root, { store, readOnly: true })
const reading = await reader.get('station/OSL/2025-07-01')
console.log(`Oslo on 2025-07-01: max ${reading?.tmax} °C, min ${reading?.tmin} °C`)

let warmest = { key: '', tmax: Number.NEGATIVE_INFINITY }
for await (const [key, value] of reader) if (value.tmax > warmest.tmax) warmest = { key, tmax: value.tmax }
console.log(`warmest day: ${warmest.key} at ${warmest.tmax} °C`)

const { cachedNodes, cachedBytes } = await reader.cacheStats()
console.log(
  `store: ${store.blockCount} blocks, ${store.byteCount} bytes; reader cache: ${cachedNodes} nodes, ${cachedBytes} bytes`,
)
