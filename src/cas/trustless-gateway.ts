import type { CID } from 'multiformats/cid'
import { StoreError } from '../errors.js'
import { GatewayReader, gatewayList } from './gateway.js'
import { HttpClient, type HttpOptions } from './http.js'
import { toCid } from './id.js'
import type { AbortOptions, ContentAddressedStore, LoadOptions, StoreId } from './interface.js'

export interface TrustlessGatewayStoreOptions extends HttpOptions {
  /**
   * One gateway URL or several (`https://ipfs.io`, `http://127.0.0.1:8080`…), tried in this order
   * for every block, except that failing gateways wait at the back (`gatewayFailureThreshold`).
   */
  gateways: string | readonly string[]
}

/**
 * A read-only store over IPFS HTTP gateways that trusts none of them: every block is fetched as a
 * verifiable raw block (`Accept: application/vnd.ipld.raw`, `?format=raw`) and checked against its
 * CID before use; a gateway that fails, lacks the block or answers wrong bytes is skipped for the
 * next. Values above one block (UnixFS files) are assembled from verified blocks, fetching only
 * those a byte range needs. Works in browsers: it only needs `fetch`.
 *
 * @example
 * ```ts
 * const store = new TrustlessGatewayStore({ gateways: ['https://ipfs.io', 'https://dweb.link'] })
 * const map = await HAMT.open(CID.parse('bafyr…'), { store })
 * ```
 */
export class TrustlessGatewayStore implements ContentAddressedStore {
  readonly #gateway: GatewayReader

  constructor(options: TrustlessGatewayStoreOptions) {
    const urls = gatewayList(options?.gateways)
    // Credentials go to the first gateway only: the others are fallbacks, maybe public ones.
    this.#gateway = new GatewayReader(urls, new HttpClient(options, [urls[0]]), true, options)
  }

  /** The gateways in the order they are tried, each as `…/ipfs/` (duplicates once). */
  get gateways(): readonly string[] {
    return this.#gateway.urls
  }

  async save(): Promise<never> {
    throw new StoreError('cannot save: a TrustlessGatewayStore is read-only')
  }

  async load(id: StoreId, options: LoadOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    return this.#gateway.load(toCid(id, 'id'), options)
  }

  /** One block's verified bytes (for a UnixFS file, its root node). */
  async getBlock(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    return this.#gateway.getBlock(toCid(cid, 'cid'), options)
  }
}
