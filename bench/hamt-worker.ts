// One benchmark run in its own process, so peak RSS belongs to this run alone.
// Usage: tsx bench/hamt-worker.ts <ts-hamt|ts-hamt-bulk|iamap> <keys> <gets> <seed>   → one JSON line on stdout
// (bench/run.ts runs it bundled to plain JavaScript: see bundleForNode)
import * as dagCbor from '@ipld/dag-cbor'
import iamap from 'iamap'
import { CID } from 'multiformats/cid'
import { blake3, blake3Hasher, bytesToHex, loadBlake3 } from '../src/blocks.js'
import type { StoreId } from '../src/cas/interface.js'
import { HAMT, MemoryStore } from '../src/index.js'

const [impl, keysArg, getsArg, seedArg] = process.argv.slice(2)
const keys = Number(keysArg)
const gets = Number(getsArg)
let seed = Number(seedArg)
const random = (): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}
const getIndexes = Array.from({ length: gets }, () => Math.floor(random() * keys))
const getKeys = getIndexes.map((i) => `key-${i}`)
const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9
/** CPU seconds (user + system) since `start`: on a shared machine steadier than wall time. */
const cpuSeconds = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1e6
}

/** Every get must return the key's own value; the sum lets bench/run.ts compare with the peers' runners. */
function checkGets(values: unknown[]): number {
  let sum = 0
  values.forEach((value, g) => {
    const want = getIndexes[g] as number
    if (value !== want) throw new Error(`get ${getKeys[g]} gave ${String(value)}`)
    sum += want
  })
  return sum
}

async function benchTsHamt() {
  const store = await MemoryStore.create()
  const map = await HAMT.create<number>({ store })
  const cpu = process.cpuUsage()
  let start = process.hrtime.bigint()
  for (let i = 0; i < keys; i++) await map.set(`key-${i}`, i)
  const setSeconds = seconds(start)
  start = process.hrtime.bigint()
  const root = await map.flush()
  const flushSeconds = seconds(start)
  const buildCpuSeconds = cpuSeconds(cpu)
  return { impl: 'ts-hamt', setSeconds, flushSeconds, buildCpuSeconds, ...(await benchGets(store, root)) }
}

/** The same content through HAMT.fromEntries, keys made as they are read (no input array held). */
async function benchTsHamtBulk() {
  const store = await MemoryStore.create()
  const entries = function* (): Generator<[string, number]> {
    for (let i = 0; i < keys; i++) yield [`key-${i}`, i]
  }
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  const map = await HAMT.fromEntries<number>(entries(), { store })
  const setSeconds = seconds(start)
  const buildCpuSeconds = cpuSeconds(cpu)
  return {
    impl: 'ts-hamt HAMT.fromEntries',
    setSeconds,
    flushSeconds: 0,
    buildCpuSeconds,
    ...(await benchGets(store, map.rootId)),
  }
}

/** Random gets on the map reopened read-only by its root, from a cold cache. */
async function benchGets(store: MemoryStore, root: StoreId) {
  const reader = await HAMT.open<number>(root, { store, readOnly: true, cacheBytes: 256 << 20 })
  const values = new Array<unknown>(gets)
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  // The first gets of a cold process carry V8's warm-up (mostly optimising compiles on its
  // background threads, which process.cpuUsage counts): reported apart from the whole run.
  const first = Math.min(gets, 10_000)
  for (let g = 0; g < first; g++) values[g] = await reader.get(getKeys[g] as string)
  const firstGetsCpuSeconds = cpuSeconds(cpu)
  for (let g = first; g < gets; g++) values[g] = await reader.get(getKeys[g] as string)
  const getCpuSeconds = cpuSeconds(cpu)
  const getSeconds = seconds(start)
  return {
    getSeconds,
    getCpuSeconds,
    firstGets: first,
    firstGetsCpuSeconds,
    root: bytesToHex(root as Uint8Array),
    blocks: store.blockCount,
    getSum: checkGets(values),
  }
}

/** iamap (rvagg) with the same hash and content addressing: DAG-CBOR nodes named by BLAKE3 CIDs. */
async function benchIamap() {
  await loadBlake3()
  iamap.registerHasher(0x1e, 32, blake3)
  const blocks = new Map<string, Uint8Array>()
  const store = {
    async save(node: unknown) {
      const bytes = dagCbor.encode(node)
      const cid = CID.createV1(dagCbor.code, blake3Hasher.digest(bytes))
      blocks.set(cid.toString(), bytes)
      return cid
    },
    async load(cid: CID) {
      return dagCbor.decode(blocks.get(cid.toString()) as Uint8Array)
    },
    isEqual: (a: CID, b: CID) => a.equals(b),
    isLink: (obj: unknown) => CID.asCID(obj) !== null,
  }
  let map = await iamap.create(store, { hashAlg: 0x1e, bitWidth: 8, bucketSize: 4 })
  let start = process.hrtime.bigint()
  for (let i = 0; i < keys; i++) map = await map.set(`key-${i}`, i)
  const setSeconds = seconds(start)
  const reader = await iamap.load(store, map.id)
  const values = new Array<unknown>(gets)
  start = process.hrtime.bigint()
  for (let g = 0; g < gets; g++) values[g] = await reader.get(getKeys[g] as string)
  const getSeconds = seconds(start)
  const getSum = checkGets(values)
  // iamap saves every changed node on every set: there is no separate flush.
  return {
    impl: 'iamap 3',
    setSeconds,
    flushSeconds: 0,
    getSeconds,
    root: map.id.toString(),
    blocks: blocks.size,
    getSum,
  }
}

const result =
  impl === 'iamap'
    ? await benchIamap()
    : impl === 'ts-hamt-bulk'
      ? await benchTsHamtBulk()
      : await benchTsHamt()
const peakRssBytes = process.resourceUsage().maxRSS * 1024
console.log(JSON.stringify({ ...result, n: keys, gets, peakRssBytes }))
