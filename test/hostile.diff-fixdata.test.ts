// diffZarrRoots on chunk keys a stranger's root may hold: coordinates past 2^53 (`Number` rounds
// them onto another chunk's) and with leading zeros (`01`, which no Zarr reader asks for). Each
// change reported as a chunk must name exactly one changed key: its array's chunk key for those
// coordinates. Generated keys, seeded.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../src/blocks.js'
import { diffZarrRoots, HAMT, MemoryStore, type ZarrChange } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const int = (n: number): number => Math.floor(random() * n)
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** A chunk coordinate as text: small, near 2^53, far past it, or with leading zeros. */
function coordinate(): string {
  switch (int(5)) {
    case 0:
      return String(int(20))
    case 1:
      return String(2 ** 53 - 2 + int(4)) // 2^53 - 2 .. 2^53 + 1
    case 2:
      return `${1 + int(9)}${Array.from({ length: 16 + int(8) }, () => int(10)).join('')}`
    case 3:
      return `0${int(10)}`
    default:
      return String(BigInt(2 ** 53) * BigInt(1 + int(3)) + BigInt(int(3)))
  }
}

/** The arrays: a v3 one with the default `c/i/j` keys, a v2 one with `i.j` keys. */
const arrays = {
  t: {
    meta: { zarr_format: 3, node_type: 'array', shape: [4, 4] },
    key: (c: string[]) => `t/c/${c.join('/')}`,
  },
  u: { meta: { zarr_format: 2, shape: [4, 4], chunks: [1, 1] }, key: (c: string[]) => `u/${c.join('.')}` },
}

describe('diffZarrRoots chunk coordinates', () => {
  it('a change reported as a chunk names one changed key, never a rounded or zero-padded neighbour', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await map.set('zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
    await map.set('t/zarr.json', json(arrays.t.meta))
    await map.set('u/.zarray', json(arrays.u.meta))
    const from = await map.flush()
    const changed = new Map<string, 't' | 'u'>()
    for (let i = 0; i < 60; i++) {
      const name = random() < 0.5 ? 't' : 'u'
      const key = arrays[name].key([coordinate(), coordinate()])
      changed.set(key, name)
      await map.set(key, Uint8Array.of(i))
    }
    const to = await map.flush()
    const seen: string[] = []
    for await (const change of diffZarrRoots(from, to, { store }) as AsyncIterable<ZarrChange>) {
      if (change.type === 'other') {
        seen.push(change.key)
        continue
      }
      assert.equal(change.type, 'chunk', JSON.stringify(change))
      if (change.type !== 'chunk') continue
      const key = arrays[change.path as 't' | 'u'].key(change.coords.map(String))
      assert.ok(
        changed.has(key),
        `seed ${seed}: chunk ${change.path} [${change.coords}] names no changed key`,
      )
      seen.push(key)
    }
    assert.deepEqual(seen.sort(), [...changed.keys()].sort(), `seed ${seed}`)
  })
})

describe('diffZarrRoots metadata documents', () => {
  it('integers past 2^53 (int64 fill values, NaT) keep their digits in before and after', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    // Two neighbours past 2^53, which JSON.parse rounds onto one double.
    const big = BigInt(2 ** 53) * BigInt(1 + int(1000)) + BigInt(int(2 ** 20))
    const meta = (fill: bigint): Uint8Array =>
      new TextEncoder().encode(
        `{"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int64", "fill_value": ${fill}, "attributes": {"_FillValue": -9223372036854775808, "scale": 0.5, "n": 3}}`,
      )
    await map.set('t/zarr.json', meta(big))
    const from = await map.flush()
    await map.set('t/zarr.json', meta(big + 1n))
    const to = await map.flush()
    const changes: ZarrChange[] = []
    for await (const change of diffZarrRoots(from, to, { store })) changes.push(change)
    assert.equal(changes.length, 1)
    const change = changes[0] as Extract<ZarrChange, { type: 'metadata' }>
    const [before, after] = [change.before, change.after] as Array<Record<string, unknown>>
    assert.equal(before?.fill_value, big, `seed ${seed}`)
    assert.equal(after?.fill_value, big + 1n, `seed ${seed}`)
    assert.deepEqual(after?.attributes, { _FillValue: -(2n ** 63n), scale: 0.5, n: 3 })
    assert.deepEqual(before?.shape, [4])
  })
})
