// Small blocks (SHA-256, as most CARs carry) and CAR files of them, for the importCar tests.
import { CarWriter } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { type BlockSink, importCar } from '../../src/index.js'
import './with-resolvers.js'

export type Block = { cid: CID; bytes: Uint8Array }

/** The bytes of a CARv1 with `roots`, holding `blocks` in that order. */
export async function carOf(roots: CID[], blocks: Block[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create(roots)
  const chunks: Uint8Array[] = []
  const reading = (async () => {
    for await (const chunk of out) chunks.push(chunk)
  })()
  for (const block of blocks) await writer.put(block)
  await writer.close()
  await reading
  return Buffer.concat(chunks)
}

export async function cborBlock(value: unknown): Promise<Block> {
  const bytes = dagCbor.encode(value)
  return { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes }
}

export async function rawBlock(text: string): Promise<Block> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/**
 * `importCar` of `car` as a stream that sends it whole, then stalls until `fail()` breaks it: the
 * import fails after putting every block (`putAll` resolves once `blocks` are put). `outcome` is its error.
 */
export function stallingImport(
  store: BlockSink,
  car: Uint8Array,
  blocks: number,
): { putAll: Promise<void>; fail: () => void; outcome: Promise<unknown> } {
  const putAll = Promise.withResolvers<void>()
  const cut = Promise.withResolvers<void>()
  async function* stalling(): AsyncIterable<Uint8Array> {
    yield car
    await cut.promise
    throw new Error('connection reset')
  }
  const outcome = importCar(store, stalling(), {
    onProgress: (progress) => {
      if (progress.blocks === blocks) putAll.resolve()
    },
  }).catch((error: unknown) => error)
  return { putAll: putAll.promise, fail: () => cut.resolve(), outcome }
}
