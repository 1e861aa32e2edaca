// Outsider attack on the node encoder's key writing (after a head sized for the key's UTF-16 length,
// moved when its UTF-8 is longer) and the fast decoder: keys of every UTF-8 length around the CBOR
// head boundaries (23/24, 255/256, 65535/65536 bytes) whose UTF-16 length is on the other side, made of
// NUL, BOM, 2-, 3- and 4-byte characters; bytes checked against @ipld/dag-cbor, roots against py-hamt.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytesToHex, hexToBytes, loadBlake3 } from '../src/blocks.js'
import { encodeDagCbor } from '../src/codec/dag-cbor.js'
import { Bucket, Node, type Slot } from '../src/hamt/node.js'
import { decodeNode } from '../src/hamt/node-decoder.js'
import { encodeNode } from '../src/hamt/node-encoder.js'
import { decodeCanonicalNode } from '../src/hamt/node-fast-decoder.js'
import { HAMT, MemoryStore } from '../src/index.js'
import { referenceEncode } from './helpers/node-reference.js'
import { pyHamtDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'

await loadBlake3()
const seed = testSeed()
const random = mulberry32(seed)
const utf8 = new TextEncoder()

/** Characters by UTF-8 length: NUL and ASCII; 2 bytes; 3 bytes (BOM among them); 4 bytes (astral). */
const WIDE = ['\u00e9', '\u07ff', '\u0800', '\ufeff', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}']
const ASCII = ['\u0000', 'a', '~', '\u007f']
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
/** Each character's UTF-8 width, encoded once (encoding per character drawn took 73 s of CPU per run). */
const WIDTHS = new Map([...WIDE, ...ASCII].map((c) => [c, utf8.encode(c).length]))
const widthOf = (c: string): number => WIDTHS.get(c) as number

/** A key of exactly `bytes` UTF-8 bytes, about `wide` of them in characters of width `width` (or mixed when 0). */
function keyOf(bytes: number, width: number, share: number): string {
  let key = ''
  let length = 0
  while (length < bytes) {
    const room = bytes - length
    const wide = WIDE.filter((c) => widthOf(c) <= room && (width === 0 || widthOf(c) === width))
    const c = random() < share && wide.length > 0 ? pick(wide) : pick(ASCII)
    key += c
    length += widthOf(c)
  }
  // Shuffle ASCII and wide runs around: a wide character last too.
  return random() < 0.5 ? key : [...key].reverse().join('')
}

function boundaryKeys(): string[] {
  const keys = new Set<string>()
  for (const boundary of [24, 256, 65536]) {
    for (let bytes = boundary - 3; bytes <= boundary + 2; bytes++) {
      for (const width of [0, 2, 3, 4]) for (const share of [0, 0.5, 1]) keys.add(keyOf(bytes, width, share))
    }
  }
  return [...keys].filter((k) => k.isWellFormed())
}

const keys = boundaryKeys()
const id = (i: number): Uint8Array => Uint8Array.from({ length: 34 }, (_, j) => (i * 31 + j) & 0xff)

describe('node codec with keys at the CBOR head boundaries', () => {
  it('one-key and many-key buckets encode as @ipld/dag-cbor does, and both decoders read them back', () => {
    for (let round = 0; round < 40; round++) {
      const slots: Slot[] = new Array(256).fill(undefined)
      for (let s = 0; s < 256; s++) {
        const r = random()
        if (r < 0.9) continue
        const count = r < 0.95 ? 1 : 2 + Math.floor(random() * 3)
        const chosen = new Set<string>()
        while (chosen.size < count) chosen.add(pick(keys))
        const bucketKeys = [...chosen]
        slots[s] =
          count === 1
            ? Bucket.of(bucketKeys[0] as string, id(s))
            : new Bucket(
                bucketKeys,
                bucketKeys.map((_, i) => id(s + i)),
              )
      }
      const node = new Node(slots)
      const bytes = encodeNode(node, () => {
        throw new Error('no dirty children')
      })
      const want = referenceEncode(node)
      assert.equal(bytesToHex(bytes), bytesToHex(want), `round ${round}`)
      for (const decoded of [decodeCanonicalNode(bytes), decodeNode(bytes, 'test')]) {
        assert.ok(decoded !== undefined, `round ${round}: the fast decoder refused a canonical node`)
        assert.equal(bytesToHex(encodeNode(decoded, () => new Uint8Array(0))), bytesToHex(want))
      }
    }
  })

  it('a bucket grown by `with` from one key stays in DAG-CBOR key order', () => {
    for (let round = 0; round < 200; round++) {
      const [a, b] = [pick(keys), pick(keys)]
      const bucket = Bucket.of(a, id(1)).with(b, id(2))
      const node = new Node([bucket, ...new Array(255).fill(undefined)])
      assert.equal(bytesToHex(encodeNode(node, () => new Uint8Array(0))), bytesToHex(referenceEncode(node)))
    }
  })

  it('py-hamt builds the same root from the same keys (set and fromEntries alike)', async () => {
    const chosen = keys.filter(() => random() < 0.5)
    const entries = chosen.map((key, i) => [key, i] as const)
    const py = await pyHamtDriver<{ root: string }>('build', {
      maxBucketSize: 2,
      valuesAreBytes: false,
      ops: entries.map(([key, value]) => ['set', key, bytesToHex(encodeDagCbor(value))]),
    })
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store, maxBucketSize: 2 })
    for (const [key, value] of entries) await map.set(key, value)
    assert.equal(bytesToHex((await map.flush()) as Uint8Array), py.root)
    const built = await HAMT.fromEntries(entries, { store: await MemoryStore.create(), maxBucketSize: 2 })
    assert.equal(bytesToHex(built.rootId as Uint8Array), py.root)
    const reopened = await HAMT.open(hexToBytes(py.root), { store, maxBucketSize: 2, cacheBytes: 0 })
    for (const [key, value] of entries) assert.equal(await reopened.get(key), value)
  })
})
