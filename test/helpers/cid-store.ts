import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { blake3Multihash, loadBlake3 } from '../../src/blocks.js'
import { sliceByteRange } from '../../src/cas/range.js'
import {
  type AbortOptions,
  BlockNotFoundError,
  type Codec,
  type ContentAddressedStore,
  type LoadOptions,
  type StoreId,
} from '../../src/index.js'

const CODECS: Record<Codec, number> = { raw: 0x55, 'dag-cbor': 0x71 }

/**
 * An in-memory store with the IDs KuboStore gives blocks of up to one chunk (CIDv1, BLAKE3, codec
 * as asked): the sharded store needs CIDs, and MemoryStore gives bare multihashes like py-hamt's
 * InMemoryCAS. A real store, not a stand-in for Kubo: unit tests use it to stay fast, the interop
 * tests use a real Kubo.
 */
export class CidMemoryStore implements ContentAddressedStore {
  readonly #blocks = new Map<string, Uint8Array>()

  static async create(): Promise<CidMemoryStore> {
    await loadBlake3()
    return new CidMemoryStore()
  }

  async save(data: Uint8Array, codec: Codec, options?: AbortOptions): Promise<CID> {
    options?.signal?.throwIfAborted()
    const cid = CID.createV1(CODECS[codec], Digest.decode(blake3Multihash(data)))
    this.#blocks.set(cid.toString(), data.slice())
    return cid
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    const block = this.#blocks.get(String(id))
    if (block === undefined) throw new BlockNotFoundError(`no block ${String(id)}`)
    return options?.range === undefined ? block.slice() : sliceByteRange(block, options.range)
  }
}
