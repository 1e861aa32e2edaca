// A CAR imported as a stream (`ts-hamt import -` from a pipe, an HTTP body) is read a section at a
// time, and a section is read whole before it is checked: one that declares a terabyte and keeps
// coming must be refused by its size, within budget, and the stream closed.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockstoreStore, importCar } from '../src/index.js'
import { importCarFile } from '../src/node/index.js'
import { carOf } from './helpers/car-blocks.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'

const MiB = 1 << 20
const seed = testSeed()
const random = mulberry32(seed)
const noise = Uint8Array.from({ length: 64 << 10 }, () => Math.floor(random() * 256))

function varint(n: number): Uint8Array {
  const out: number[] = []
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80)
  out.push(n)
  return Uint8Array.from(out)
}

/** `prefix`, then 64 KiB pieces of noise forever; `closed()` says whether the import let it go. */
function endless(prefix: Uint8Array): { stream: AsyncIterable<Uint8Array>; closed: () => boolean } {
  let closed = false
  async function* pieces(): AsyncGenerator<Uint8Array> {
    try {
      yield prefix
      // A pipe's pieces come with I/O between them: so do these (else timers would never run).
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve))
        yield noise
      }
    } finally {
      closed = true
    }
  }
  return { stream: pieces(), closed: () => closed }
}

const block = { cid: CID.createV1(raw.code, await sha256.digest(noise)), bytes: noise }
const header = await carOf([block.cid], [])

describe('a CAR stream is read no further than one block may reach', () => {
  const store = () => new BlockstoreStore(new MemoryBlockstore())

  it('a section declaring 1 TiB, then endless bytes: ERR_INVALID_VALUE, the stream closed', async () => {
    const { stream, closed } = endless(Uint8Array.from([...header, ...varint(2 ** 40), ...block.cid.bytes]))
    const outcome = await withinBudget('1 TiB section', (signal) => importCar(store(), stream, { signal }))
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.match(String((outcome.error as Error).message), /maxBlockBytes/)
    assert.ok(closed(), 'the source was closed')
  })

  it('a header declaring 1 TiB, then endless bytes: ERR_INVALID_VALUE, the stream closed', async () => {
    const { stream, closed } = endless(varint(2 ** 40))
    assertTypedError(
      await withinBudget('1 TiB header', (signal) => importCar(store(), stream, { signal })),
      'ERR_INVALID_VALUE',
    )
    assert.ok(closed(), 'the source was closed')
  })

  it('a 5 MiB block: refused from a stream by default, taken with maxBlockBytes or from a file', async () => {
    const big = Uint8Array.from({ length: 5 * MiB }, (_, i) => noise[i % noise.length] as number)
    const bigBlock = { cid: CID.createV1(raw.code, await sha256.digest(big)), bytes: big }
    const car = await carOf([bigBlock.cid], [bigBlock])
    async function* streamOf(bytes: Uint8Array): AsyncIterable<Uint8Array> {
      for (let at = 0; at < bytes.length; at += 64 << 10) yield bytes.subarray(at, at + (64 << 10))
    }
    const refused = await importCar(store(), streamOf(car)).catch((error: unknown) => ({ error }))
    assertTypedError(refused as { error: unknown }, 'ERR_INVALID_VALUE')
    const taken = await importCar(store(), streamOf(car), { maxBlockBytes: 8 * MiB })
    assert.deepEqual(taken.roots, [bigBlock.cid])
    const dir = await mkdtemp(join(tmpdir(), 'ts-hamt-car-gw13-'))
    try {
      await writeFile(join(dir, 'big.car'), car)
      const target = store()
      const fromFile = await importCarFile(target, join(dir, 'big.car'))
      assert.deepEqual(fromFile.roots, [bigBlock.cid])
      assert.deepEqual(await target.getBlock(bigBlock.cid), big)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
