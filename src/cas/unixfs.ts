import * as dagPb from '@ipld/dag-pb'
import type { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { protobufField } from '../codec/protobuf.js'
import { InvalidArgumentError, InvalidNodeError, InvalidValueError } from '../errors.js'
import { inlineBlock } from './id.js'
import type { ByteRange } from './interface.js'
import { resolveByteRange } from './range.js'
import { loadUnixfs } from './unixfs-module.js'

/** Fetches one block, already checked against its CID. */
export type BlockFetcher = (cid: CID) => Promise<Uint8Array>

/** One node of a file: its own bytes (a raw leaf's block, a dag-pb leaf's data), or its children's. */
interface FileNode {
  size: number
  inline: Uint8Array
  children: Array<{ cid: CID; size: number }>
}

/**
 * Levels a file may have: Kubo's balanced DAGs stay within about 6 and trickle DAGs within about 20
 * for any file that fits in memory; a deeper chain is a hostile one, which would cost memory per level.
 */
const MAX_DEPTH = 1024

/**
 * Reads a UnixFS file (what Kubo's `add` makes of data above one chunk) whole or by byte range,
 * block by block: only the blocks that overlap the range are fetched, each verified by `fetchBlock`.
 * The sizes a node claims for its children are all checked against the children fetched before the
 * output is allocated, so a lying node costs no more memory than its blocks; a block the file links
 * many times is fetched once, and a subtree read whole once is copied from the output after that.
 */
export async function readUnixfsFile(
  root: CID,
  fetchBlock: BlockFetcher,
  range?: ByteRange,
): Promise<Uint8Array> {
  const read = new FileRead(fetchBlock)
  const node = await read.node(root)
  const [start, end] = range === undefined ? [0, node.size] : resolveByteRange(range, node.size)
  await read.check(root, node, start, end, 0)
  let out: Uint8Array
  try {
    out = new Uint8Array(end - start)
  } catch (cause) {
    // Sizes that add up, from a few blocks linked many times, can pass what one array may hold.
    throw new InvalidArgumentError(
      `the file ${root} is ${node.size} bytes; ${end - start} at once are more than one array holds here: read it by range`,
      { cause },
    )
  }
  read.copy(root, node, start, end, out, 0)
  return out
}

/** The children of `node` that bytes [start, end) of it overlap, with the part of each they cover. */
function* overlapping(
  node: FileNode,
  start: number,
  end: number,
): Generator<{ cid: CID; size: number; childStart: number; from: number; to: number }> {
  let position = node.inline.length
  for (const child of node.children) {
    const childStart = position
    position += child.size
    // A child claimed empty is checked when the range touches it: unchecked, a lie would drop its bytes.
    const outside =
      child.size === 0 ? childStart < start || childStart > end : childStart >= end || position <= start
    if (outside) continue
    const from = Math.max(start, childStart) - childStart
    yield { ...child, childStart, from, to: Math.min(end, position) - childStart }
  }
}

/** One read of a file: each block is fetched and parsed once, however many links name it. */
class FileRead {
  readonly #fetchBlock: BlockFetcher
  readonly #fetched = new Map<string, Promise<FileNode>>()
  readonly #parsed = new Map<string, FileNode>()
  /** Links already checked, as `cid size from to`. */
  readonly #checked = new Set<string>()
  /** Where in the output a subtree read whole was first copied. */
  readonly #copied = new Map<string, number>()

  constructor(fetchBlock: BlockFetcher) {
    this.#fetchBlock = fetchBlock
  }

  node(cid: CID): Promise<FileNode> {
    const key = String(cid)
    let node = this.#fetched.get(key)
    if (node === undefined) {
      // An identity CID carries its block: Kubo inlines small leaves so, and no store holds them.
      const inline = inlineBlock(cid)
      const fetched = inline !== undefined ? Promise.resolve(inline) : this.#fetchBlock(cid)
      node = fetched.then(async (block) => {
        const parsed = parseFileNode(cid, block, cid.code === raw.code ? undefined : await loadUnixfs())
        this.#parsed.set(key, parsed)
        return parsed
      })
      this.#fetched.set(key, node)
    }
    return node
  }

  /** Fetches every node that bytes [start, end) of `node` lie in, checking each size claimed for it. */
  async check(cid: CID, node: FileNode, start: number, end: number, depth: number): Promise<void> {
    if (depth > MAX_DEPTH) {
      throw new InvalidNodeError(`UnixFS file node ${cid} is more than ${MAX_DEPTH} levels deep`)
    }
    const checks: Array<Promise<void>> = []
    for (const child of overlapping(node, start, end)) {
      const key = `${child.cid} ${child.size} ${child.from} ${child.to}`
      if (this.#checked.has(key)) continue
      this.#checked.add(key)
      checks.push(
        this.node(child.cid).then((childNode) => {
          if (childNode.size !== child.size) {
            throw new InvalidNodeError(
              `UnixFS node ${cid} says its child ${child.cid} holds ${child.size} bytes, but it holds ${childNode.size}`,
            )
          }
          return this.check(child.cid, childNode, child.from, child.to, depth + 1)
        }),
      )
    }
    await Promise.all(checks)
  }

  /** Copies bytes [start, end) of a checked `node` into `out` at `at`. */
  copy(cid: CID, node: FileNode, start: number, end: number, out: Uint8Array, at: number): void {
    const whole = start === 0 && end === node.size
    const key = String(cid)
    const earlier = whole ? this.#copied.get(key) : undefined
    if (earlier !== undefined) {
      out.copyWithin(at, earlier, earlier + node.size)
      return
    }
    if (start < node.inline.length)
      out.set(node.inline.subarray(start, Math.min(end, node.inline.length)), at)
    for (const child of overlapping(node, start, end)) {
      if (child.from === child.to) continue
      const childNode = this.#parsed.get(String(child.cid)) as FileNode
      this.copy(child.cid, childNode, child.from, child.to, out, at + child.childStart + child.from - start)
    }
    if (whole) this.#copied.set(key, at)
  }
}

/** A raw leaf, or a dag-pb UnixFS file node whose sizes add up (links, blockSizes and its filesize agree). */
function parseFileNode(cid: CID, block: Uint8Array, unixfs: typeof UnixFS | undefined): FileNode {
  if (cid.code === raw.code) return { size: block.length, inline: block, children: [] }
  let node: dagPb.PBNode
  let fs: UnixFS
  try {
    node = dagPb.decode(block)
    if (node.Data === undefined) throw new Error('it has no UnixFS data')
    fs = (unixfs as typeof UnixFS).unmarshal(node.Data)
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
  // Kubo's MFS writes both (appending to a one-block dag-pb file), and Kubo disagrees with itself on
  // them: its `files stat` counts the data, its `cat` skips it. Refused, not guessed.
  if (inline.length > 0 && node.Links.length > 0) {
    throw new InvalidNodeError(
      `UnixFS node ${cid} has both data of its own and children (as Kubo's MFS writes when appending to a one-block file; readers disagree on its bytes)`,
    )
  }
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
  let size: ReturnType<typeof protobufField>
  try {
    size = protobufField(data, 3)
  } catch (cause) {
    throw new InvalidNodeError(`UnixFS data does not parse: ${(cause as Error).message}`, { cause })
  }
  return typeof size === 'bigint' ? size : undefined
}
