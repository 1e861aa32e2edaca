// Where `openDataset` reads blocks from: a store the user made, trustless gateways, or a Helia node.
import { type BlockstoreLike, BlockstoreStore } from '../cas/blockstore.js'
import type { ContentAddressedStore } from '../cas/interface.js'
import { TrustlessGatewayStore } from '../cas/trustless-gateway.js'
import { InvalidArgumentError } from '../errors.js'
import { BLAKE3_CODE } from '../hash/blake3.js'
import type { OpenDatasetOptions } from './interface.js'

/** The store named by exactly one of `store`, `gateways` or `helia`. */
export async function storeOf(options: OpenDatasetOptions): Promise<ContentAddressedStore> {
  const given = (['store', 'gateways', 'helia'] as const).filter((name) => options?.[name] !== undefined)
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      `give exactly one of store, gateways or helia to read blocks from${given.length > 1 ? `, got ${given.join(' and ')}` : ''}`,
    )
  }
  if (options.store !== undefined) {
    if (typeof options.store.load !== 'function') {
      throw new InvalidArgumentError('store must be a ts-hamt store (with load and save)')
    }
    return options.store
  }
  if (options.gateways !== undefined) {
    return new TrustlessGatewayStore({ ...options.gatewayOptions, gateways: options.gateways })
  }
  const helia = options.helia
  if (typeof helia?.blockstore?.get !== 'function') {
    throw new InvalidArgumentError('helia must be a Helia node (with a blockstore)')
  }
  // Helia checks each block it fetches with its own hashers and fails late on BLAKE3 without one.
  if (typeof helia.getHasher === 'function') {
    try {
      await helia.getHasher(BLAKE3_CODE)
    } catch (error) {
      throw new InvalidArgumentError(
        "this Helia node cannot verify BLAKE3 blocks: create it with createHelia({ hashers: [blake3Hasher] }) (blake3Hasher from 'ts-hamt/blocks')",
        { cause: error },
      )
    }
  }
  return new BlockstoreStore(helia.blockstore as unknown as BlockstoreLike)
}
