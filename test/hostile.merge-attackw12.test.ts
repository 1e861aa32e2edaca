// Write-side attack (session 12) on mergeZarrRoots against xarray writers through py-hamt 3.6.0: from a
// random base dataset, writer A writes the time rows after a chunk-aligned split (or appends along
// time) and writer B rewrites the rows before it; merging A and B in either order must give the root
// of one writer doing B then A, on a HAMT and on a sharded (v2) root.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { KuboStore, mergeZarrRoots } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { attackWriteDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }
const kubo = (): KuboStore => new KuboStore(kuboOptions(urls))
const seed = testSeed()

type Roots = { base: string; a: string; b: string; c: string }

describe('merging two xarray writers gives the one-writer root', () => {
  for (const layout of ['hamt', 'sharded'] as const) {
    for (const append of [false, true]) {
      it(`${layout}, ${append ? 'A appends' : 'A writes a region'} (seed ${seed})`, async () => {
        const random = mulberry32(seed + (layout === 'hamt' ? 0 : 2) + (append ? 1 : 0))
        const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
        const timeChunk = int(1, 4)
        const ntime = timeChunk * int(2, 4) + (append ? int(0, timeChunk - 1) : 0)
        // B's rows end on a chunk boundary A does not write past (A's append may rewrite the last, partial chunk).
        const split = timeChunk * int(1, Math.floor(ntime / timeChunk) - (append ? 0 : 1))
        const request = {
          ...urls,
          layout,
          ntime,
          nlat: int(1, 5),
          timeChunk,
          split,
          append: append ? int(1, 5) : 0,
          dtype: ['int16', 'float32', 'float64'][int(0, 2)],
          chunksPerShard: int(1, 6),
          seed: int(0, 2 ** 30),
        }
        const roots = await attackWriteDriver<Roots>('writers', request)
        const context = JSON.stringify(request)
        assert.notEqual(roots.a, roots.base, 'A changed something')
        assert.notEqual(roots.b, roots.base, 'B changed something')
        const store = kubo()
        const ab = await mergeZarrRoots(roots.base, roots.a, roots.b, { store })
        const ba = await mergeZarrRoots(roots.base, roots.b, roots.a, { store })
        assert.equal(ab.toString(), roots.c, `merge(A, B) of ${context}`)
        assert.equal(ba.toString(), roots.c, `merge(B, A) of ${context}`)
      })
    }
  }
})
