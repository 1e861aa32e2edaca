// A stranger's DAG-CBOR block nested thousands deep overflows the recursive decoder: every place a
// block is decoded must answer with our typed error naming the depth, not a raw RangeError.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { loadBlake3 } from '../src/blocks.js'
import { linksOf } from '../src/car/walk.js'
import { followContentPath } from '../src/cas/content-path.js'
import { toJson } from '../src/cli/output.js'
import { decodeDagCbor } from '../src/codec/dag-cbor.js'
import { zarrLayoutOf } from '../src/dataset/open.js'
import { Bucket, Node } from '../src/hamt/node.js'
import { decodeAnyNode } from '../src/hamt/node-decoder.js'
import { encodeNode } from '../src/hamt/node-encoder.js'
import { blake3 } from '../src/hash/blake3.js'
import { HAMT, isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { decodeCbor } from '../src/sharded/manifest.js'
import { ensureCliBuilt, runCli } from './helpers/cli.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-codec-tail10-'))
after(() => rm(scratch, { recursive: true, force: true }))
before(async () => {
  await loadBlake3()
  await ensureCliBuilt()
})

/** `depth` nested one-item arrays (0x81) or one-entry maps ({"k": …}) around a 0, as raw DAG-CBOR. */
function nested(depth: number, map: boolean): Uint8Array {
  const unit = map ? [0xa1, 0x61, 0x6b] : [0x81]
  const bytes = new Uint8Array(depth * unit.length + 1)
  for (let level = 0; level < depth; level++) bytes.set(unit, level * unit.length)
  return bytes
}

// Past what V8's default stack decodes (~3,000-4,000 levels on Node 20 and 24).
const depth = 20_000 + Math.floor(random() * 30_000)
const shapes = [false, true].map((map) => ({ map, bytes: nested(depth, map), name: map ? 'maps' : 'arrays' }))

function assertNamesDepth(error: unknown, code?: string): true {
  assert.ok(!(error instanceof RangeError), `a raw RangeError: ${(error as Error).message}`)
  if (code !== undefined) assert.ok(isHamtError(error), `not typed: ${error}`)
  if (code !== undefined) assert.equal((error as { code: string }).code, code)
  assert.match((error as Error).message, new RegExp(`nested ${depth} deep`), `seed ${seed}`)
  return true
}

describe(`DAG-CBOR nested ${depth} deep (seed ${seed})`, () => {
  for (const { map, bytes, name } of shapes) {
    it(`${name}: the codec names the depth; each decoding layer throws its typed error`, async () => {
      assert.throws(
        () => decodeDagCbor(bytes),
        (e) => assertNamesDepth(e),
      )
      assert.throws(
        () => decodeDagCbor(bytes, { useMaps: true }),
        (e) => assertNamesDepth(e),
      )
      const cid = CID.createV1(dagCbor.code, await sha256.digest(bytes))
      assert.throws(
        () => linksOf(cid, bytes),
        (e) => assertNamesDepth(e, 'ERR_INVALID_VALUE'),
      )
      assert.throws(
        () => decodeAnyNode(bytes, 'x'),
        (e) => assertNamesDepth(e, 'ERR_INVALID_NODE'),
      )
      assert.throws(
        () => zarrLayoutOf(bytes),
        (e) => assertNamesDepth(e, 'ERR_INVALID_ARGUMENT'),
      )
      assert.throws(
        () => decodeCbor(bytes, 'manifest'),
        (e) => assertNamesDepth(e, 'ERR_INVALID_MANIFEST'),
      )
      await assert.rejects(
        followContentPath(cid, `/${map ? 'k' : '0'}`, async () => bytes),
        (e) => assertNamesDepth(e, 'ERR_INVALID_VALUE'),
      )
    })
  }

  it('a map value that is such a block: HAMT get and CLI get fail typed, naming the depth', async () => {
    const path = join(scratch, 'deep-store')
    const store = await DiskStore.open(path)
    const node = new Node()
    const keys = shapes.map(({ name }) => name)
    for (const { bytes, name } of shapes) {
      const pointer = await store.save(bytes, 'dag-cbor')
      const slot = blake3(new TextEncoder().encode(name))[0] as number
      assert.equal(node.slots[slot], undefined, 'the two keys share no slot')
      node.slots[slot] = new Bucket([name], [pointer])
    }
    const root = await store.save(
      encodeNode(node, () => assert.fail('no children')),
      'dag-cbor',
    )
    await store.flush()
    const map = await HAMT.open(root, { store })
    for (const key of keys)
      await assert.rejects(map.get(key), (e) => assertNamesDepth(e, 'ERR_INVALID_VALUE'))
    for (const key of keys) {
      const run = await runCli(scratch, ['--store', path, 'get', String(root), key])
      assert.equal(run.code, 1, run.stderr)
      assert.match(run.stderr, /ERR_INVALID_VALUE/)
      assert.match(run.stderr, new RegExp(`nested ${depth} deep`))
      assert.doesNotMatch(run.stderr, /RangeError|Maximum call stack/)
    }
  })
})

describe('the deepest JSON value `set --type json` stores, `get` prints back', () => {
  for (const map of [false, true]) {
    it(map ? 'objects' : 'arrays', async () => {
      const path = join(scratch, `deepest-${map ? 'maps' : 'arrays'}`)
      const empty = (await runCli(scratch, ['--store', path, 'create'])).stdout.trim()
      const text = (levels: number): string =>
        map
          ? `${'{"k":'.repeat(levels)}0${'}'.repeat(levels)}`
          : `${'['.repeat(levels)}0${']'.repeat(levels)}`
      // Bisect the deepest value set accepts (a refusal must be typed); that one must print back.
      let stored = { levels: 0, root: '' }
      // 20,000 levels of objects is 120 kB, just under Linux's 128 kB limit on one argument.
      let refused = 20_000
      while (refused - stored.levels > 1) {
        const levels = Math.floor((stored.levels + refused) / 2)
        const set = await runCli(scratch, [
          '--store',
          path,
          'set',
          empty,
          'deep',
          text(levels),
          '--type',
          'json',
        ])
        if (set.code === 0) stored = { levels, root: set.stdout.trim() }
        else {
          assert.equal(set.code, 1, set.stderr)
          assert.match(set.stderr, /ERR_INVALID_VALUE/)
          refused = levels
        }
      }
      assert.ok(stored.levels > 1000 && stored.levels < 19_999, `${stored.levels} levels stored`)
      const get = await runCli(scratch, ['--store', path, 'get', stored.root, 'deep'])
      assert.equal(get.code, 0, `${stored.levels} levels: ${get.stderr}`)
      assert.equal(get.stdout.trim(), text(stored.levels))
    })
  }
})

describe('toJson (the CLI writes JSON without recursion)', () => {
  /** A generated JSON-like value with the IPLD kinds toJson converts (bytes, bigints, CIDs). */
  function generated(level: number): unknown {
    const pick = Math.floor(random() * (level > 4 ? 5 : 8))
    if (pick === 0) return Math.floor(random() * 2000) - 1000 + (random() < 0.3 ? 0.5 : 0)
    if (pick === 1) return String.fromCharCode(...Array.from({ length: 4 }, () => Math.floor(random() * 300)))
    if (pick === 2) return [null, true, false, undefined][Math.floor(random() * 4)]
    if (pick === 3) return random() < 0.5 ? BigInt(Math.floor(random() * 1e6)) ** 3n : Uint8Array.of(1, 2, 3)
    if (pick === 4) return CID.parse('bafyr4ifcslwo3w55cqwup6c2evzojdruzmh7xmay2qpjucxvrzg4huchwq')
    const items = Array.from({ length: Math.floor(random() * 4) }, () => generated(level + 1))
    if (pick === 5) return items
    return Object.fromEntries(items.map((item, index) => [`k${index}${random() < 0.2 ? '"\n' : ''}`, item]))
  }
  const replacer = (_key: string, value: unknown): unknown =>
    typeof value === 'bigint'
      ? value.toString()
      : value instanceof Uint8Array
        ? { '/': { bytes: Buffer.from(value).toString('base64') } }
        : value

  it(`writes what JSON.stringify writes, indented or not (seed ${seed})`, () => {
    for (let round = 0; round < 300; round++) {
      const value = generated(0)
      for (const indent of [0, 2]) {
        assert.equal(toJson(value, indent), JSON.stringify(value, replacer, indent) ?? 'null', `seed ${seed}`)
      }
    }
  })

  it('writes a value nested 100,000 deep', () => {
    let value: unknown = 0
    for (let level = 0; level < 100_000; level++) value = level % 2 === 0 ? [value] : { k: value }
    assert.equal(toJson(value).length, 50_000 * ('[]'.length + `{"k":}`.length) + 1)
  })
})
