import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { InvalidValueError } from '../errors.js'
import type { ByteRange } from './interface.js'
import { resolveByteRange } from './range.js'

const RAW = 0x55

/** Fetches one block, already checked against its CID. */
export type BlockFetcher = (cid: CID) => Promise<Uint8Array>

/**
 * Reads a UnixFS file (what Kubo's `add` makes of data above one chunk) whole or by byte range,
 * block by block: only the blocks that overlap the range are fetched, each verified by `fetchBlock`.
 */
export async function readUnixfsFile(
  root: CID,
  fetchBlock: BlockFetcher,
  range?: ByteRange,
): Promise<Uint8Array> {
  const rootBlock = await fetchBlock(root)
  const size = fileSize(root, rootBlock)
  const [start, end] = range === undefined ? [0, size] : resolveByteRange(range, size)
  const out = new Uint8Array(end - start)
  await copyRange(root, rootBlock, start, end, out, 0, fetchBlock)
  return out
}

function fileSize(cid: CID, block: Uint8Array): number {
  if (cid.code === RAW) return block.length
  return Number(unixfsOf(cid, block).fs.fileSize())
}

function unixfsOf(cid: CID, block: Uint8Array): { node: dagPb.PBNode; fs: UnixFS } {
  const node = dagPb.decode(block)
  if (node.Data === undefined) throw new InvalidValueError(`dag-pb block ${cid} has no UnixFS data`)
  const fs = UnixFS.unmarshal(node.Data)
  if (fs.type !== 'file' && fs.type !== 'raw') {
    throw new InvalidValueError(`dag-pb block ${cid} is a UnixFS ${fs.type}, not a file`)
  }
  return { node, fs }
}

/** Copies bytes [start, end) of the file rooted at `cid` into `out` at `at`. */
async function copyRange(
  cid: CID,
  block: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  fetchBlock: BlockFetcher,
): Promise<void> {
  if (cid.code === RAW) {
    out.set(block.subarray(start, end), at)
    return
  }
  const { node, fs } = unixfsOf(cid, block)
  let position = 0
  const inline = fs.data ?? new Uint8Array(0)
  if (inline.length > 0) {
    if (start < inline.length) out.set(inline.subarray(start, Math.min(end, inline.length)), at)
    position = inline.length
  }
  const reads: Promise<void>[] = []
  node.Links.forEach((link, i) => {
    const childSize = Number(fs.blockSizes[i] ?? 0n)
    const childStart = position
    position += childSize
    if (childStart >= end || childStart + childSize <= start) return
    const from = Math.max(start, childStart) - childStart
    const to = Math.min(end, childStart + childSize) - childStart
    const childCid = CID.asCID(link.Hash) as CID
    const target = at + Math.max(0, childStart - start)
    reads.push(
      fetchBlock(childCid).then((child) => copyRange(childCid, child, from, to, out, target, fetchBlock)),
    )
  })
  await Promise.all(reads)
}
