// Small hostile CAR files: every case ends in the right blocks or a typed error, within a time and
// memory budget (test/helpers/hostile.ts), and a refused CAR given as bytes or as a file leaves the
// target as it was. Generated cases print their seed; TS_HAMT_SEED=<n> replays one.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core/memory'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { code as RAW } from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { blockDigest } from '../src/cas/id.js'
import { BlockstoreStore, HAMT, importCar, isHamtError } from '../src/index.js'
import { importCarFile } from '../src/node/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { testSeed } from './helpers/random.js'

const run = promisify(execFile)
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-hostile-car-'))
after(() => rm(scratch, { recursive: true, force: true }))
let files = 0

type Block = { cid: CID; bytes: Uint8Array }

async function block(code: number, bytes: Uint8Array): Promise<Block> {
  return { cid: CID.createV1(code, await blockDigest('blake3', bytes)), bytes }
}

function carOf(roots: CID[], blocks: Block[]): Uint8Array {
  const headerSize = CarBufferWriter.headerLength({ roots })
  const size = blocks.reduce((total, b) => total + CarBufferWriter.blockLength(b), headerSize)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots, headerSize })
  for (const b of blocks) writer.write(b)
  return writer.close()
}

function varint(n: number): number[] {
  const out: number[] = []
  for (; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) | 0x80)
  out.push(n)
  return out
}

/** A target that records everything that reaches it: a refused CAR must leave both empty. */
function freshTarget(): {
  store: BlockstoreStore
  blockstore: MemoryBlockstore
  untouched(): Promise<boolean>
} {
  const blockstore = new MemoryBlockstore()
  const store = new BlockstoreStore(blockstore)
  return {
    store,
    blockstore,
    untouched: async () => {
      let stored = 0
      for await (const _ of blockstore.getAll()) stored++
      return stored === 0 && store.bufferedBytes === 0
    },
  }
}

async function* chunked(bytes: Uint8Array, size = 1000): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

/** importCar from bytes and importCarFile: refused with `code`, and nothing reaches the target. */
async function refusedWhole(name: string, car: Uint8Array, code: 'ERR_INVALID_VALUE' | 'ERR_INTEGRITY') {
  const path = join(scratch, `case-${files++}.car`)
  await writeFile(path, car)
  for (const [how, run] of [
    ['bytes', (store: BlockstoreStore) => importCar(store, car)],
    ['file', (store: BlockstoreStore) => importCarFile(store, path)],
  ] as const) {
    const target = freshTarget()
    assertTypedError(await withinBudget(`${name} (${how})`, () => run(target.store)), code)
    assert.ok(await target.untouched(), `${name} (${how}): the target is as it was`)
  }
  // A stream is read once: it fails the same way, and never keeps the bad block.
  const target = freshTarget()
  assertTypedError(await withinBudget(`${name} (stream)`, () => importCar(target.store, chunked(car))), code)
}

describe('hostile CAR files', () => {
  it('a dag-cbor block that does not decode is ERR_INVALID_VALUE, before any block is kept', async () => {
    const good = await block(RAW, Uint8Array.of(1, 2, 3))
    for (const bad of [
      Uint8Array.of(0xa1),
      Uint8Array.of(0xff),
      Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    ]) {
      const broken = await block(dagCbor.code, bad)
      await refusedWhole(`dag-cbor ${bad[0]}`, carOf([good.cid], [good, broken]), 'ERR_INVALID_VALUE')
    }
  })

  it('a block under a truncated digest (bafkr4aa…) is ERR_INTEGRITY, whatever its bytes', async () => {
    const good = await block(RAW, Uint8Array.of(1, 2, 3))
    for (const size of [0, 1, 16]) {
      const cid = CID.createV1(RAW, Digest.create(0x1e, good.cid.multihash.digest.subarray(0, size)))
      await refusedWhole(
        `digest of ${size} bytes`,
        carOf([good.cid], [good, { cid, bytes: good.bytes }]),
        'ERR_INTEGRITY',
      )
    }
  })

  it('absurd lengths: a section or header claiming 2**50 bytes, a header claiming 2**32 roots', async () => {
    const header = dagCbor.encode({ roots: [], version: 1 })
    const good = await block(RAW, Uint8Array.of(7))
    const whole = carOf([good.cid], [good])
    const cases: Array<[string, Uint8Array]> = [
      [
        'section of 2**50',
        Uint8Array.from([...varint(header.length), ...header, ...varint(2 ** 50), 1, 2, 3]),
      ],
      ['header of 2**50', Uint8Array.from([...varint(2 ** 50), ...header])],
      ['last section cut', whole.subarray(0, whole.length - 1)],
      [
        'header with 2**32-1 roots',
        Uint8Array.from([
          ...varint(11),
          0xa2,
          0x65,
          ...new TextEncoder().encode('roots'),
          0x9a,
          0xff,
          0xff,
          0xff,
          0xff,
        ]),
      ],
      ['header that is a number', Uint8Array.from([1, 0x01])],
      ['nothing', new Uint8Array(0)],
    ]
    for (const [name, car] of cases) await refusedWhole(name, car, 'ERR_INVALID_VALUE')
  })

  it('one block repeated 5000 times imports once; a map behind repeated blocks opens', async () => {
    const store = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.create<number>({ store })
    for (let i = 0; i < 20; i++) await map.set(`k${i}`, i)
    const root = await map.flush()
    const rootBlock = { cid: root as CID, bytes: await store.getBlock(root as CID) }
    const value = await block(RAW, dagCbor.encode(0))
    const blocks: Block[] = []
    for (let i = 0; i < 20; i++)
      blocks.push({ cid: (await block(RAW, dagCbor.encode(i))).cid, bytes: dagCbor.encode(i) })
    const repeated = carOf(
      [root as CID],
      [rootBlock, ...blocks, ...Array.from({ length: 5_000 }, () => value)],
    )
    const target = freshTarget()
    const outcome = await withinBudget('repeated blocks', () => importCar(target.store, repeated))
    assert.equal(outcome.value?.blocks, 5_021)
    const reopened = await HAMT.open<number>(root, { store: target.store })
    assert.equal(await reopened.get('k19'), 19)
  })

  it('random corruptions of a valid CAR: the right blocks or a typed error, and nothing kept on error', async () => {
    const seed = testSeed()
    const store = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.create<unknown>({ store })
    for (let i = 0; i < 30; i++) await map.set(`key ${i}`, { i, text: 'x'.repeat(i) })
    const root = (await map.flush()) as CID
    const { exportCar } = await import('../src/index.js')
    const parts: Uint8Array[] = []
    for await (const part of exportCar(store, root)) parts.push(part)
    const car = Uint8Array.from(parts.flatMap((part) => [...part]))
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(car.length - 1), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(car.length - 1) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(car.length - 1), value: fc.nat(255) }),
    )
    const samples = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 3 }), { numRuns: 150, seed })
    for (const [index, mutations] of samples.entries()) {
      let bad = car.slice()
      for (const m of mutations) {
        if (m.kind === 'cut') bad = bad.subarray(0, m.at)
        else if (m.at < bad.length)
          bad[m.at] = m.kind === 'flip' ? (bad[m.at] as number) ^ (1 << m.bit) : m.value
      }
      const target = freshTarget()
      const outcome = await withinBudget(`mutation ${index} (seed ${seed})`, () =>
        importCar(target.store, bad),
      )
      if ('error' in outcome && outcome.error !== undefined) {
        assertTypedError(outcome)
        assert.ok(await target.untouched(), `mutation ${index} (seed ${seed}): the target is as it was`)
      } else {
        // Accepted: then every root it names opens to the map it was (a flip in a CID breaks the hash).
        for (const r of outcome.value?.roots ?? []) assert.equal(String(r), String(root))
      }
    }
  })
})

describe('a CAR from a pipe', () => {
  /** `importCarFile` on a named pipe that a child process writes `car` into. */
  async function fromPipe(target: BlockstoreStore, car: Uint8Array) {
    const source = join(scratch, `pipe-source-${files}.car`)
    const fifo = join(scratch, `pipe-${files++}`)
    await writeFile(source, car)
    await run('mkfifo', [fifo])
    const writer = run('sh', ['-c', 'cat "$0" > "$1"', source, fifo])
    try {
      return await importCarFile(target, fifo)
    } finally {
      await writer.catch(() => {})
    }
  }

  it('imports in one pass (a pipe cannot be read twice); a bad block is still never kept', async () => {
    const good = await block(RAW, Uint8Array.of(1, 2, 3))
    const target = freshTarget()
    const imported = await fromPipe(target.store, carOf([good.cid], [good]))
    assert.deepEqual(imported.roots.map(String), [String(good.cid)])
    assert.deepEqual(await target.store.getBlock(good.cid), good.bytes)
    const forged = { cid: (await block(RAW, Uint8Array.of(9))).cid, bytes: Uint8Array.of(8) }
    const refused = freshTarget()
    await assert.rejects(fromPipe(refused.store, carOf([good.cid], [forged, good])), (e) =>
      isHamtError(e, 'ERR_INTEGRITY'),
    )
    assert.ok(await refused.untouched(), 'the forged block, first, never reached the target')
  })
})
