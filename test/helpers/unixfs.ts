// UnixFS blocks built by hand for hostile tests, and the stores that read them: a blockstore and a
// loopback gateway over the same blocks, each counting its block reads. Servers close after the file.
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { blockDigest } from '../../src/cas/id.js'
import { BlockstoreStore, TrustlessGatewayStore } from '../../src/index.js'
import { nodeHttpFetch } from '../../src/node/index.js'
import { serve } from './loopback.js'

export { code as RAW } from 'multiformats/codecs/raw'
export type Block = { cid: CID; bytes: Uint8Array }
export async function block(code: number, bytes: Uint8Array): Promise<Block> {
  return { cid: CID.createV1(code, await blockDigest('blake3', bytes)), bytes }
}

/** A dag-pb node over `links` with this UnixFS data (or none). */
export function pbNode(links: CID[], data?: Uint8Array): Promise<Block> {
  const node = dagPb.encode({ Data: data, Links: links.map((Hash) => ({ Hash, Name: '', Tsize: 0 })) })
  return block(dagPb.code, node)
}

export function fileData(
  blockSizes: Array<number | bigint>,
  type: 'file' | 'directory' = 'file',
): Uint8Array {
  return new UnixFS({ type, blockSizes: blockSizes.map(BigInt) }).marshal()
}

/** Every store that reads UnixFS files, over the same blocks; each returns how many block reads it made. */
export async function storesOver(
  blocks: Block[],
): Promise<Array<[string, BlockstoreStore | TrustlessGatewayStore, () => number]>> {
  const memory = new MemoryBlockstore()
  const served = new Map<string, Uint8Array>()
  for (const b of blocks) {
    await memory.put(b.cid, b.bytes)
    served.set(String(b.cid), b.bytes)
  }
  let gets = 0
  const counting = Object.assign(Object.create(memory), {
    get: (cid: CID, options?: unknown) => {
      gets++
      return memory.get(cid, options as never)
    },
  })
  const gateway = await serve((req, res) => {
    const bytes = served.get(/^\/ipfs\/([^?/]+)/.exec(req.url ?? '')?.[1] ?? '')
    if (bytes === undefined) res.writeHead(404).end()
    else res.writeHead(200).end(bytes)
  })
  return [
    ['blockstore', new BlockstoreStore(counting), () => gets],
    [
      'gateway',
      new TrustlessGatewayStore({ gateways: gateway.url, fetch: nodeHttpFetch() }),
      () => gateway.seen.length,
    ],
  ]
}
