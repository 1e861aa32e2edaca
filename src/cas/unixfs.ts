import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { InvalidNodeError, InvalidValueError } from '../errors.js'
import { concatBytes } from './concat.js'
import type { ByteRange } from './interface.js'
import { resolveByteRange } from './range.js'

const RAW = 0x55

/** Fetches one block, already checked against its CID. */
export type BlockFetcher = (cid: CID) => Promise<Uint8Array>

/** One node of a file: its own bytes (a raw leaf's block, a dag-pb node's inline data), then its children's. */
interface FileNode {
  size: number
  inline: Uint8Array
  children: Array<{ cid: CID; size: number }>
}

/**
 * Reads a UnixFS file (what Kubo's `add` makes of data above one chunk) whole or by byte range,
 * block by block: only the blocks that overlap the range are fetched, each verified by `fetchBlock`.
 * The sizes a node claims for its children are checked against each child fetched, and the output
 * is assembled only from bytes received, so a lying node costs no more memory than its blocks.
 */
export async function readUnixfsFile(
  root: CID,
  fetchBlock: BlockFetcher,
  range?: ByteRange,
): Promise<Uint8Array> {
  const node = parseFileNode(root, await fetchBlock(root))
  const [start, end] = range === undefined ? [0, node.size] : resolveByteRange(range, node.size)
  const pieces = await collectRange(root, node, start, end, fetchBlock)
  const bytes = concatBytes(pieces)
  // A copy, so a small range does not keep a whole block alive.
  return pieces.length === 1 ? bytes.slice() : bytes
}

/** The pieces of bytes [start, end) of the file node `node` (of block `cid`), in order. */
async function collectRange(
  cid: CID,
  node: FileNode,
  start: number,
  end: number,
  fetchBlock: BlockFetcher,
): Promise<Uint8Array[]> {
  const pieces: Array<Promise<Uint8Array[]>> = []
  if (start < node.inline.length) {
    pieces.push(Promise.resolve([node.inline.subarray(start, Math.min(end, node.inline.length))]))
  }
  let position = node.inline.length
  for (const child of node.children) {
    const childStart = position
    position += child.size
    if (childStart >= end || position <= start) continue
    const from = Math.max(start, childStart) - childStart
    const to = Math.min(end, position) - childStart
    pieces.push(
      fetchBlock(child.cid).then((block) => {
        const childNode = parseFileNode(child.cid, block)
        if (childNode.size !== child.size) {
          throw new InvalidNodeError(
            `UnixFS node ${cid} says its child ${child.cid} holds ${child.size} bytes, but it holds ${childNode.size}`,
          )
        }
        return collectRange(child.cid, childNode, from, to, fetchBlock)
      }),
    )
  }
  return (await Promise.all(pieces)).flat()
}

/** A raw leaf, or a dag-pb UnixFS file node whose sizes add up (links, blockSizes and its filesize agree). */
function parseFileNode(cid: CID, block: Uint8Array): FileNode {
  if (cid.code === RAW) return { size: block.length, inline: block, children: [] }
  let node: dagPb.PBNode
  let fs: UnixFS
  try {
    node = dagPb.decode(block)
    if (node.Data === undefined) throw new Error('it has no UnixFS data')
    fs = UnixFS.unmarshal(node.Data)
  } catch (cause) {
    throw new InvalidNodeError(`${cid} is not a UnixFS node: ${(cause as Error).message}`, { cause })
  }
  if (fs.type !== 'file' && fs.type !== 'raw') {
    throw new InvalidValueError(`dag-pb block ${cid} is a UnixFS ${fs.type}, not a file`)
  }
  if (fs.blockSizes.length !== node.Links.length) {
    throw new InvalidNodeError(
      `UnixFS node ${cid} has ${node.Links.length} links but ${fs.blockSizes.length} block sizes`,
    )
  }
  const inline = fs.data ?? new Uint8Array(0)
  let total = BigInt(inline.length)
  const children = node.Links.map((link, i) => {
    const size = fs.blockSizes[i] as bigint
    total += size
    // asCID: dag-pb may carry its own copy of multiformats' CID class.
    return { cid: CID.asCID(link.Hash) as CID, size: Number(size) }
  })
  const declared = declaredFileSize(node.Data as Uint8Array)
  if (total > BigInt(Number.MAX_SAFE_INTEGER) || (declared !== undefined && declared !== total)) {
    throw new InvalidNodeError(
      `UnixFS node ${cid} declares ${declared ?? 'no'} file size, its parts add up to ${total} bytes`,
    )
  }
  return { size: Number(total), inline, children }
}

/**
 * The `filesize` field (3) of a UnixFS protobuf, which ipfs-unixfs reads but does not expose (it
 * recomputes the size from the parts): scanned here so a node whose parts disagree with it is caught.
 */
function declaredFileSize(data: Uint8Array): bigint | undefined {
  let at = 0
  const varint = (): bigint => {
    let value = 0n
    for (let shift = 0n; ; shift += 7n) {
      const byte = data[at++]
      if (byte === undefined || shift > 63n) throw new InvalidNodeError('truncated UnixFS data')
      value |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return value
    }
  }
  let size: bigint | undefined
  while (at < data.length) {
    const key = Number(varint())
    const wire = key & 7
    if (key >>> 3 === 3 && wire === 0) size = varint()
    else if (wire === 0) varint()
    else if (wire === 1) at += 8
    else if (wire === 2) at += Number(varint())
    else if (wire === 5) at += 4
    else throw new InvalidNodeError(`UnixFS data has an unknown wire type ${wire}`)
  }
  return size
}
