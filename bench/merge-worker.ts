// One writer process of bench/merge-ingest.ts: opens BASE on a Kubo, writes chunks FROM..TO-1 of the
// array `data` (one chunk per index of the first dimension, SEED in the values), flushes, prints
// its root with its own CPU and wall time.
// Usage: node --import tsx bench/merge-worker.ts RPC_URL GATEWAY_URL BASE FROM TO SEED
import * as zarr from 'zarrita'
import { HAMT, KuboStore, ZarrHAMTStore } from '../src/index.js'
import { seconds } from './common.js'

const [rpcUrl, gatewayUrl, base, from, to, seed] = process.argv.slice(2) as string[]
const [first, end, salt] = [Number(from), Number(to), Number(seed)]
const CONCURRENCY = 8

const wall = process.hrtime.bigint()
const cpu = process.cpuUsage()
const store = new KuboStore({ rpcUrl: rpcUrl as string, gateways: gatewayUrl as string })
const map = await HAMT.open<Uint8Array>(base as string, { store, valuesAreBytes: true, readOnly: false })
const array = (await zarr.open(zarr.root(new ZarrHAMTStore(map)).resolve('data'), {
  kind: 'array',
})) as zarr.Array<'float32', ZarrHAMTStore>
const [, height, width] = array.shape as [number, number, number]

let next = first
async function writeChunks(): Promise<void> {
  while (next < end) {
    const t = next++
    const data = new Float32Array(height * width)
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(t * 0.01 + i * 0.001 + salt) * 40 + 250
    await zarr.set(array, [t, null, null], { data, shape: [height, width], stride: [width, 1] })
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, writeChunks))
const root = await map.flush()
const used = process.cpuUsage(cpu)
const result = { root: root.toString(), cpuMs: (used.user + used.system) / 1000, wallS: seconds(wall) }
process.stdout.write(`${JSON.stringify(result)}\n`)
