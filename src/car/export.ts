import * as dagCbor from '@ipld/dag-cbor'
import { varint } from 'multiformats'
import type { CID } from 'multiformats/cid'
import { concatBytes } from '../cas/concat.js'
import { toCid } from '../cas/id.js'
import type { StoreId } from '../cas/interface.js'
import { resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { integerOption } from '../check.js'
import { InvalidArgumentError } from '../errors.js'
import { walkDifference } from './difference.js'
import type { BlockSource, ExportCarOptions } from './interface.js'
import { walkDag } from './walk.js'

/**
 * Streams a CAR (v1) file holding `root` and every block reachable from it, each once: a whole
 * HAMT (nodes and values, large values' UnixFS blocks included), a Zarr dataset on a HAMT, or any
 * DAG of dag-cbor, dag-pb and raw blocks. The root is the CAR's one root; blocks come in the
 * order they arrive. Every block is read through `source`, so a verifying store checks it first.
 * With `options.base`, only the blocks reachable from `root` and not from `base`: what a receiver
 * that holds `base` needs to have `root` (see {@link ExportCarOptions.exact}). Either may be an
 * IPNS name (`/ipns/k51…`) when `source` resolves names; it is resolved before the first block.
 *
 * @example
 * ```ts
 * const chunks: Uint8Array[] = []
 * for await (const chunk of exportCar(store, root)) chunks.push(chunk) // or pipe to a file
 * const change = exportCar(store, root, { base: hamtRoot }) // only the blocks hamtRoot lacks
 * ```
 */
export async function* exportCar(
  source: BlockSource,
  root: StoreId | string,
  options: ExportCarOptions = {},
): AsyncGenerator<Uint8Array> {
  const rootArg = rootArgument(root, 'root', source)
  if (typeof source?.getBlock !== 'function') {
    throw new InvalidArgumentError('source must be a store with getBlock (BlockstoreStore, KuboStore, …)')
  }
  const baseArg = options.base === undefined ? undefined : rootArgument(options.base, 'options.base', source)
  const rootCid = toCid(await resolveRootArgument(rootArg, source, options.signal), 'root')
  const baseCid =
    baseArg === undefined
      ? undefined
      : toCid(await resolveRootArgument(baseArg, source, options.signal), 'options.base')
  const concurrency = integerOption('concurrency', options.concurrency, 16)
  const walk =
    baseCid === undefined
      ? walkDag(source, rootCid, { concurrency, signal: options.signal })
      : walkDifference(source, rootCid, baseCid, {
          concurrency,
          signal: options.signal,
          exact: options.exact,
        })
  yield carHeader(rootCid)
  let blocks = 0
  let bytes = 0
  for await (const block of walk) {
    yield carBlock(block.cid, block.bytes)
    blocks++
    bytes += block.bytes.length
    options.onProgress?.({ blocks, bytes })
  }
}

function carHeader(root: CID): Uint8Array {
  return lengthPrefixed([dagCbor.encode({ version: 1, roots: [root] })])
}

function carBlock(cid: CID, bytes: Uint8Array): Uint8Array {
  return lengthPrefixed([cid.bytes, bytes])
}

/** A CARv1 section: the varint length of the parts, then the parts. */
function lengthPrefixed(parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0)
  const prefix = new Uint8Array(varint.encodingLength(length))
  varint.encodeTo(length, prefix)
  return concatBytes([prefix, ...parts])
}
