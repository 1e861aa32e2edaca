// Write-side attack (session 12): random Zarr histories made by zarr-python on py-hamt 3.6.0's
// ShardedZarrStore (random geometries: shapes chunks do not divide, 0-length and length-1 dims, up to
// 4 dims; random dtypes and fill values; writes, all-fill writes, resizes and attribute rewrites,
// reopened between phases), replayed call by call on ts-hamt's store: every root must be py-hamt's,
// and zarrita through ts-hamt must read the values zarr-python reads.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { hexToBytes } from '../src/blocks.js'
import { KuboStore, ShardedZarrStore } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { attackWriteDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

type Spec = { name: string; shape: number[]; chunks: number[]; dtype: string; fill: number | boolean | 'NaN' }
type Op =
  | { op: 'write'; array: string; start: number[]; stop: number[]; values: (number | null)[] }
  | { op: 'resize'; array: string; shape: number[] }
  | { op: 'attrs'; array: string; attrs: Record<string, unknown> }
type Flat = { shape: number[]; values: (number | null)[] }
type History = { roots: string[]; logs: [string, string, string][][]; values: Record<string, Flat> }

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }
const kubo = (): KuboStore => new KuboStore(kuboOptions(urls))

const DTYPES = ['uint8', 'int16', 'int32', 'uint32', 'float32', 'float64', 'bool'] as const

/** A random history for one case: arrays, then 2 or 3 phases of zarr-level operations. */
function generate(random: () => number, version: 'v1' | 'v2'): { arrays: Spec[]; phases: Op[][]; cps: number } {
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T
  const dim = (): number => (random() < 0.15 ? 0 : random() < 0.2 ? 1 : int(2, 7))
  const arrays: Spec[] = []
  for (let a = 0; a < int(1, 2); a++) {
    // A v1 store's primary array has at least one dimension (py-hamt opens v1 from a shape).
    const ndim = int(a === 0 && version === 'v1' ? 1 : 0, 4)
    const dtype = pick(DTYPES)
    const fill =
      dtype === 'bool'
        ? random() < 0.5
        : dtype.startsWith('float') && random() < 0.5
          ? 'NaN'
          : int(0, 3)
    arrays.push({
      name: `a${a}`,
      shape: Array.from({ length: ndim }, dim),
      chunks: Array.from({ length: ndim }, () => int(1, 4)),
      dtype,
      fill,
    })
  }
  const value = (spec: Spec): number | null => {
    if (random() < 0.3) return spec.fill === 'NaN' ? null : Number(spec.fill)
    if (spec.dtype === 'bool') return int(0, 1)
    if (spec.dtype.startsWith('float')) return random() < 0.1 ? null : int(-400, 400) / 4
    return spec.dtype.startsWith('u') ? int(0, 250) : int(-120, 120)
  }
  const shapes = new Map(arrays.map((a) => [a.name, [...a.shape]]))
  const phases: Op[][] = []
  for (let p = 0; p < int(2, 3); p++) {
    const ops: Op[] = []
    for (let n = 0; n < int(1, 4); n++) {
      const spec = pick(arrays)
      const shape = shapes.get(spec.name) as number[]
      const kind = random()
      if (kind < 0.6) {
        const start = shape.map((s) => int(0, s))
        const stop = shape.map((s, i) => int(start[i] as number, s))
        const count = stop.reduce((acc, s, i) => acc * (s - (start[i] as number)), 1)
        // All-fill writes make zarr delete the chunks it covers.
        const allFill = random() < 0.2
        const values = Array.from({ length: count }, () =>
          allFill ? (spec.fill === 'NaN' ? null : Number(spec.fill)) : value(spec),
        )
        ops.push({ op: 'write', array: spec.name, start, stop, values })
      } else if (kind < 0.85 && shape.length > 0) {
        const next = shape.map(() => dim())
        shapes.set(spec.name, next)
        ops.push({ op: 'resize', array: spec.name, shape: next })
      } else {
        ops.push({ op: 'attrs', array: spec.name, attrs: { phase: p, n, note: pick(['', 'é', 'x']) } })
      }
    }
    phases.push(ops)
  }
  return { arrays, phases, cps: int(1, 7) }
}

/** Every value of an array as zarrita reads it through ts-hamt, flattened as the driver flattens. */
async function readFlat(store: ShardedZarrStore, path: string): Promise<Flat> {
  const array = await zarr.open(zarr.root(store).resolve(path), { kind: 'array' })
  // zarrita cannot get() an array with a 0-length dimension: its shape is all there is.
  if (array.shape.includes(0)) return { shape: [...array.shape], values: [] }
  const got = await zarr.get(array)
  const flat = (v: unknown): number | null => {
    const n = Number(v)
    return Number.isNaN(n) ? null : n
  }
  if (array.shape.length === 0) return { shape: [], values: [flat(got)] }
  const { data, shape } = got as { data: ArrayLike<unknown>; shape: number[] }
  return { shape, values: Array.from(data, flat) }
}

describe('random sharded histories by zarr-python: ts-hamt replays them to py-hamt’s roots and reads the same values', () => {
  const seed = testSeed()
  for (const version of ['v1', 'v2'] as const) {
    for (let c = 0; c < 4; c++) {
      it(`${version} case ${c} (seed ${seed})`, async () => {
        const random = mulberry32(seed + c * 2 + (version === 'v1' ? 0 : 1))
        const { arrays, phases, cps } = generate(random, version)
        const request = { ...urls, version, chunksPerShard: cps, arrays, phases }
        const python = await attackWriteDriver<History>('history', request)
        const context = JSON.stringify({ arrays, cps })
        const first = arrays[0] as Spec
        let store =
          version === 'v1'
            ? await ShardedZarrStore.create({
                store: kubo(),
                arrayShape: first.shape,
                chunkShape: first.chunks,
                chunksPerShard: cps,
              })
            : await ShardedZarrStore.create({ store: kubo(), chunksPerShard: cps })
        for (const [phase, log] of python.logs.entries()) {
          if (phase > 0)
            store = await ShardedZarrStore.open(python.roots[phase - 1] as string, {
              store: kubo(),
              readOnly: false,
            })
          for (const [op, key, hex] of log) {
            if (op === 'set') await store.set(key, hexToBytes(hex))
            else if (op === 'delete') await store.delete(key)
            else if (op === 'delete_dir') await store.deleteDir(key)
            else if (op === 'clear') await store.clear()
            else assert.fail(`unknown store call ${op}`)
          }
          const root = (await store.flush()).toString()
          assert.equal(root, python.roots[phase], `root after phase ${phase} of ${context}`)
        }
        const reader = await ShardedZarrStore.open(python.roots.at(-1) as string, { store: kubo() })
        for (const spec of arrays) {
          const path = version === 'v2' ? `g/${spec.name}` : spec.name
          assert.deepEqual(await readFlat(reader, path), python.values[spec.name], `${path} of ${context}`)
        }
      })
    }
  }
})
