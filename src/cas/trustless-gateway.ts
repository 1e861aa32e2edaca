import type { CID } from 'multiformats/cid'
import { StoreError } from '../errors.js'
import { GatewayReader, gatewayList } from './gateway.js'
import { HttpClient, type HttpOptions } from './http.js'
import { toCid } from './id.js'
import type {
  AbortOptions,
  ContentAddressedStore,
  LoadOptions,
  NameResolver,
  ResolvedName,
  ResolveNameOptions,
  StoreId,
} from './interface.js'
import { followIpnsName } from './ipns.js'
import { parseIpnsName } from './ipns-name.js'

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
 * those a byte range needs. IPNS names resolve the same way: the name's signed record is fetched
 * and verified (see {@link TrustlessGatewayStore.resolveName}), so every opener given this store
 * also takes `/ipns/<name>` as its root. Works in browsers: it only needs `fetch`.
 *
 * @example
 * ```ts
 * const store = new TrustlessGatewayStore({ gateways: ['https://ipfs.io', 'https://dweb.link'] })
 * const map = await HAMT.open(CID.parse('bafyr…'), { store })
 * ```
 */
export class TrustlessGatewayStore implements ContentAddressedStore, NameResolver {
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

  /**
   * Follows an IPNS name (`/ipns/k51…`, `/ipns/12D3Koo…`) to the root it points to now: the name's
   * signed record is fetched from the gateways (`?format=ipns-record`, at most 10 KiB) and verified
   * against the name's key (inlined in ed25519 names, carried by the record for RSA) and its
   * validity; a value that is another name is followed too (32 deep at most). A refused record
   * is an `ERR_IPNS_RECORD` whose `problem` says why; a gateway serving one fails over to the next.
   * A name never moves back to an older record than the newest one remembered in the
   * `ipnsRecords` option (default: 16 MiB of records, least recently resolved names forgotten first)
   * while that one is valid.
   *
   * @example
   * ```ts
   * const gateways = new TrustlessGatewayStore({ gateways: 'https://ipfs.io' })
   * const { cid, sequence } = await gateways.resolveName('/ipns/k51qzi5uqu5d…')
   * const map = await HAMT.open('/ipns/k51qzi5uqu5d…', { store: gateways }) // the same, done by the opener
   * ```
   */
  async resolveName(name: string, options: ResolveNameOptions = {}): Promise<ResolvedName> {
    options.signal?.throwIfAborted()
    const parsed = parseIpnsName(name, 'name')
    return followIpnsName(parsed, (next) => this.#gateway.getIpnsRecord(next, options), options.signal)
  }

  /** One block's verified bytes (for a UnixFS file, its root node). */
  async getBlock(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    return this.#gateway.getBlock(toCid(cid, 'cid'), options)
  }
}
