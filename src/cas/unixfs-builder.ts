import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import type { MultihashDigest } from 'multiformats/hashes/interface'
import { copyBytes } from './id.js'
import { loadUnixfs } from './unixfs-module.js'

/** Kubo's balanced layout puts at most this many links in one node (go-unixfs `DefaultLinksPerBlock`). */
export const LINKS_PER_NODE = 174

export interface Block {
  cid: CID
  bytes: Uint8Array
}

type Digester = (bytes: Uint8Array) => MultihashDigest | Promise<MultihashDigest>

interface Child {
  cid: CID
  /** Bytes of file data under this child. */
  fileSize: number
  /** Serialized size of the child's block plus all its descendants (dag-pb `Tsize`). */
  dagSize: number
}

/**
 * The blocks of `data` laid out as Kubo's `add --cid-version=1 --raw-leaves --chunker=size-<n>` lays
 * them out: fixed-size raw leaves under a balanced tree of dag-pb UnixFS file nodes, at most 174
 * links each, filled left to right. Data of one chunk or less is the one raw leaf itself.
 * `ipfs-unixfs-importer` builds the same shape but hashes with SHA-256 only, and py-hamt uses BLAKE3.
 */
export async function buildUnixfsFile(
  data: Uint8Array,
  chunkSize: number,
  digest: Digester,
): Promise<{ root: CID; blocks: Block[] }> {
  const blocks: Block[] = []
  const root = await layOut(data, chunkSize, digest, blocks)
  return { root, blocks }
}

/**
 * The root CID {@link buildUnixfsFile} gives `data`, without keeping its blocks: what a Kubo `add`
 * with the same chunker must answer (checked against Kubo 0.43 at chunk and 174-link boundaries).
 */
export function unixfsFileRoot(data: Uint8Array, chunkSize: number, digest: Digester): Promise<CID> {
  return layOut(data, chunkSize, digest, undefined)
}

/** Lays the file out bottom-up; with `blocks`, each block is kept there (its leaves copied out of `data`). */
async function layOut(
  data: Uint8Array,
  chunkSize: number,
  digest: Digester,
  blocks: Block[] | undefined,
): Promise<CID> {
  let level: Child[] = []
  // Empty data is one empty leaf, as Kubo adds it.
  const leafCount = Math.max(1, Math.ceil(data.length / chunkSize))
  for (let i = 0; i < leafCount; i++) {
    const chunk = data.subarray(i * chunkSize, (i + 1) * chunkSize)
    const bytes = blocks === undefined ? chunk : copyBytes(chunk)
    const cid = CID.createV1(raw.code, await digest(bytes))
    blocks?.push({ cid, bytes })
    level.push({ cid, fileSize: bytes.length, dagSize: bytes.length })
  }
  // Grouping each level by 174 gives Kubo's balanced tree: every subtree is full before the next starts.
  while (level.length > 1) {
    const parents: Child[] = []
    for (let i = 0; i < level.length; i += LINKS_PER_NODE) {
      parents.push(await fileNode(level.slice(i, i + LINKS_PER_NODE), digest, blocks))
    }
    level = parents
  }
  return (level[0] as Child).cid
}

async function fileNode(children: Child[], digest: Digester, blocks: Block[] | undefined): Promise<Child> {
  const UnixFS = await loadUnixfs()
  const unixfs = new UnixFS({ type: 'file', blockSizes: children.map((c) => BigInt(c.fileSize)) })
  const bytes = dagPb.encode({
    Data: unixfs.marshal(),
    Links: children.map((c) => ({ Hash: c.cid, Name: '', Tsize: c.dagSize })),
  })
  const cid = CID.createV1(dagPb.code, await digest(bytes))
  blocks?.push({ cid, bytes })
  const fileSize = children.reduce((sum, c) => sum + c.fileSize, 0)
  const dagSize = children.reduce((sum, c) => sum + c.dagSize, bytes.length)
  return { cid, fileSize, dagSize }
}
