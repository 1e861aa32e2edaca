// Following IPNS names to roots, and the root argument every opener takes: a store ID, a CID's
// text, or `/ipns/<name>` when the store can resolve names.
import { CID } from 'multiformats/cid'
import { describeValue, InvalidArgumentError, IpnsRecordError } from '../errors.js'
import { followContentPath, type GetBlock } from './content-path.js'
import { formatId, toStoreId } from './id.js'
import type { NameResolver, ResolvedName, StoreId } from './interface.js'
import { type ContentPath, type IpnsName, isIpnsPath, parseContentPath, parseIpnsPath } from './ipns-name.js'

/** Names followed in a row before giving up (a name may point to a name): Kubo's limit. */
export const MAX_IPNS_DEPTH = 32

/** What one record of a name says, as a resolver reads it. */
export interface NameRecord {
  value: string
  sequence?: bigint
  validity?: string
}

/**
 * Follows `name` to a CID: reads its record, and while the value is another name, that name's,
 * at most {@link MAX_IPNS_DEPTH} deep; paths after each step are joined. The first record's
 * sequence and validity are the ones reported.
 */
export async function followIpnsName(
  name: IpnsName,
  readRecord: (name: IpnsName) => Promise<NameRecord>,
  signal?: AbortSignal,
): Promise<ResolvedName> {
  let current = name
  let path = ''
  let first: NameRecord | undefined
  for (let depth = 0; depth < MAX_IPNS_DEPTH; depth++) {
    signal?.throwIfAborted()
    const record = await readRecord(current)
    first ??= record
    let target: ContentPath
    try {
      target = parseContentPath(record.value)
    } catch (cause) {
      const shown = JSON.stringify(record.value.slice(0, 100))
      throw new IpnsRecordError(current.path, 'malformed', `its value ${shown} is not /ipfs/… or /ipns/…`, {
        cause,
      })
    }
    path = target.path + path
    if (target.kind === 'ipfs') {
      const { value, sequence, validity } = first
      return {
        name: name.path,
        cid: target.cid,
        path,
        value,
        ...(sequence === undefined ? {} : { sequence }),
        ...(validity === undefined ? {} : { validity }),
      }
    }
    current = target.name
  }
  throw new IpnsRecordError(name.path, 'too-deep', `leads through more than ${MAX_IPNS_DEPTH} names`)
}

/** True for a store that can follow IPNS names (see {@link NameResolver}). */
export function canResolveNames(store: unknown): store is NameResolver {
  return typeof (store as Partial<NameResolver> | undefined)?.resolveName === 'function'
}

/**
 * A root argument checked at the call: a store ID (a CID, its text, bytes) as it is, or an IPNS
 * name, parsed, when `store` can resolve names; a name for a store that cannot is an
 * {@link InvalidArgumentError} that says which stores can. `argument` names it in errors.
 */
export function rootArgument(value: unknown, argument: string, store: unknown): StoreId | NameArgument {
  if (!isIpnsPath(value)) return toStoreId(value, argument)
  const { name, path } = parseIpnsPath(value, argument)
  if (!canResolveNames(store)) {
    throw new InvalidArgumentError(
      `${argument} ${name.path} is an IPNS name, which a ${describeValue(store)} cannot resolve: ` +
        'open it through a TrustlessGatewayStore or a KuboStore, or pass the root CID',
    )
  }
  return { name, path }
}

/** An IPNS name given as a root, and a path after it (`''` for none). */
export interface NameArgument {
  name: IpnsName
  path: string
}

/**
 * The root a {@link rootArgument} names: a store ID as it is; a name resolved once, now, through
 * `store`, and a path in its record's value (`/ipfs/<cid>/a/b`) followed over the store's verified
 * blocks to the CID it leads to.
 */
export async function resolveRootArgument(
  root: StoreId | NameArgument,
  store: unknown,
  signal?: AbortSignal,
): Promise<StoreId> {
  if (!isNameArgument(root)) return root
  const resolved = await (store as NameResolver).resolveName(root.name.path, { signal })
  const path = resolved.path + root.path
  if (path === '') return resolved.cid
  const getBlock = (store as { getBlock?: GetBlock }).getBlock
  if (typeof getBlock !== 'function') {
    throw new InvalidArgumentError(
      `${root.name.path}${root.path} leads to ${formatId(resolved.cid)}${path}: following a path needs a store with getBlock`,
    )
  }
  return followContentPath(resolved.cid, path, getBlock.bind(store), { signal })
}

/** {@link rootArgument} and {@link resolveRootArgument} in one step, for openers that are async anyway. */
export async function resolveRoot(
  value: unknown,
  argument: string,
  store: unknown,
  signal?: AbortSignal,
): Promise<StoreId> {
  return resolveRootArgument(rootArgument(value, argument, store), store, signal)
}

function isNameArgument(root: StoreId | NameArgument): root is NameArgument {
  return !(root instanceof Uint8Array) && CID.asCID(root) === null
}
