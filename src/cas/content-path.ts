// A path after a CID (`/ipfs/<cid>/a/b`, as IPNS records may point), followed over verified blocks:
// named links of dag-pb directories, and map keys and list indexes of dag-cbor blocks.
import { code as dagCborCode } from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import type { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { decodeDagCbor } from '../codec/dag-cbor.js'
import { InvalidArgumentError, InvalidValueError } from '../errors.js'
import type { AbortOptions } from './interface.js'
import { loadUnixfs } from './unixfs-module.js'

/** Segments followed at most: a path is text from a record, and each segment may cost a block. */
const MAX_SEGMENTS = 256

/** Reads one verified block (a store's `getBlock`). */
export type GetBlock = (cid: CID, options?: AbortOptions) => Promise<Uint8Array>

/**
 * The CID that `path` (`/a/b`, read as Kubo reads it: `.` and empty segments dropped, `..` the segment
 * before, no percent-decoding) leads to from `root`: through the named links of dag-pb directories
 * (not HAMT-sharded ones) and the keys and indexes of dag-cbor values, ending at a link. Anything else
 * (a missing name, `..` above `root`, a path ending inside a block, a raw block) is an
 * {@link InvalidArgumentError} naming where it stopped.
 */
export async function followContentPath(
  root: CID,
  path: string,
  getBlock: GetBlock,
  options: AbortOptions = {},
): Promise<CID> {
  const names = cleanSegments(root, path)
  if (names.length > MAX_SEGMENTS)
    throw new InvalidArgumentError(`path ${path.slice(0, 100)}…: more than ${MAX_SEGMENTS} segments`)
  let cid = root
  let at = 0
  const stop = (why: string): never => {
    throw new InvalidArgumentError(`/ipfs/${root}${path}: ${why} (at /${names.slice(0, at).join('/')})`)
  }
  while (at < names.length) {
    options.signal?.throwIfAborted()
    const block = await getBlock(cid, options)
    if (cid.code === dagPb.code) {
      const name = names[at]
      const node = decoded(cid, () => dagPb.decode(block))
      // Its link names are slot-prefixed (`03A` for `A`): a name match there leads where Kubo does not.
      if (isShardedDirectory(node, await loadUnixfs()))
        return stop(`block ${cid} is a HAMT-sharded directory, not followed here`)
      const link = node.Links.find((candidate) => candidate.Name === name)
      if (link === undefined) return stop(`no link named ${JSON.stringify(name)}`)
      cid = link.Hash
      at++
      continue
    }
    if (cid.code !== dagCborCode) return stop(`a block of codec 0x${cid.code.toString(16)} has no paths`)
    let value = decoded(cid, () => decodeDagCbor(block))
    let link: CID | null = null
    while (at < names.length && link === null) {
      value = childOf(value, names[at] as string)
      if (value === undefined) return stop(`no field ${JSON.stringify(names[at])}`)
      at++
      link = CID.asCID(value)
    }
    if (link === null) return stop('the path ends inside a block, not at a link')
    cid = link
  }
  return cid
}

/** A block's decoding: the record's author made the block, so it may not decode (an InvalidValueError). */
function decoded<T>(cid: CID, decode: () => T): T {
  try {
    return decode()
  } catch (cause) {
    throw new InvalidValueError(`block ${cid} on the path does not decode: ${(cause as Error)?.message}`, {
      cause,
    })
  }
}

/** True for a UnixFS HAMT-sharded directory (other dag-pb, UnixFS or not, is followed by link name). */
function isShardedDirectory(node: dagPb.PBNode, unixfs: typeof UnixFS): boolean {
  try {
    return node.Data !== undefined && unixfs.unmarshal(node.Data).type === 'hamt-sharded-directory'
  } catch {
    return false
  }
}

function childOf(value: unknown, name: string): unknown {
  // A list index as Kubo reads it (Go's strconv.ParseInt): a sign and leading zeros allowed, ASCII digits.
  if (Array.isArray(value)) return /^[+-]?\d+$/.test(name) ? value[Number(name)] : undefined
  if (
    value === null ||
    typeof value !== 'object' ||
    CID.asCID(value) !== null ||
    value instanceof Uint8Array
  ) {
    return undefined
  }
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined
}

/**
 * The names `path` goes through, as Kubo's paths (Go's `path.Clean`) read it: a name is the text
 * between slashes as it is (`%41` is not `A`); so a record leads here where it leads through Kubo.
 */
function cleanSegments(root: CID, path: string): string[] {
  const names: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment !== '..') names.push(segment)
    else if (names.pop() === undefined)
      throw new InvalidArgumentError(`/ipfs/${root}${path.slice(0, 100)}: '..' leads above the root`)
  }
  return names
}
