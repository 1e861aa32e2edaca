import type { CID } from 'multiformats/cid'
import type { BlockSink, BlockSource } from '../car/interface.js'
import { DiskStore } from '../cas/disk.js'
import { toCid } from '../cas/id.js'
import type { ContentAddressedStore } from '../cas/interface.js'
import { canResolveNames, resolveRootArgument, rootArgument } from '../cas/ipns.js'
import { isIpnsPath } from '../cas/ipns-name.js'
import { KuboStore } from '../cas/kubo.js'
import { TrustlessGatewayStore } from '../cas/trustless-gateway.js'
import { InvalidArgumentError, isHamtError } from '../errors.js'
import type { Output } from './output.js'

/** The options every command takes, chosen before the command runs. */
export interface GlobalOptions {
  /** On-disk store directory (the default store). */
  store: string
  /** Kubo RPC URL: read and write through a Kubo daemon. */
  kubo?: string
  /** Gateways: with `kubo`, where it reads; alone, a read-only trustless gateway store. */
  gateways: string[]
  json: boolean
  progress: boolean
}

/** A mistake in the command line itself (exit code 2); failures of the data or the files exit 1. */
export class UsageError extends InvalidArgumentError {}

export type CliStore = ContentAddressedStore & BlockSource & Partial<BlockSink>

export interface Context {
  options: GlobalOptions
  output: Output
  /** The store the flags name, opened on first use. */
  store(): Promise<CliStore>
  /** A description of the store for messages: `disk ./.ts-hamt`, `kubo http://…`. */
  storeName: string
  /** Aborted by SIGINT, SIGTERM or SIGHUP: pass it to long work so it stops and cleans up. */
  signal: AbortSignal
  /** Registers a file that must not survive an interrupted run; returns the unregistering function. */
  removeOnStop(path: string): () => void
}

/** What a run gets from its process: the abort signal and the list of files to remove if stopped. */
export type RunControl = Pick<Context, 'signal' | 'removeOnStop'>

export function makeContext(
  options: GlobalOptions,
  output: Output,
  writes: boolean,
  control: RunControl,
): Context {
  let opened: Promise<CliStore> | undefined
  const storeName =
    options.kubo !== undefined
      ? `kubo ${options.kubo}`
      : options.gateways.length > 0
        ? `gateway ${options.gateways.join(', ')}`
        : `disk ${options.store}`
  return {
    options,
    output,
    storeName,
    signal: control.signal,
    removeOnStop: (path) => control.removeOnStop(path),
    store: () => {
      opened ??= openStore(options, writes)
      return opened
    },
  }
}

async function openStore(options: GlobalOptions, writes: boolean): Promise<CliStore> {
  try {
    return await openNamedStore(options, writes)
  } catch (error) {
    // The stores check their URLs: a bad one is a mistake in the flags.
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message, { cause: error })
    throw error
  }
}

async function openNamedStore(options: GlobalOptions, writes: boolean): Promise<CliStore> {
  if (options.kubo !== undefined) {
    return new KuboStore({
      rpcUrl: options.kubo,
      ...(options.gateways.length > 0 ? { gateways: options.gateways } : {}),
      retries: 1,
      timeoutMs: 30_000,
    })
  }
  if (options.gateways.length > 0) {
    return new TrustlessGatewayStore({ gateways: options.gateways, retries: 1, timeoutMs: 30_000 })
  }
  // A read never creates the directory: a mistyped --store is an error, not an empty store.
  return DiskStore.open(options.store, { createIfMissing: writes })
}

/** A root argument as a CID; the message names the argument. */
export function parseRoot(text: string | undefined, name = 'ROOT'): CID {
  if (text === undefined) throw new UsageError(`${name} is missing: give a root CID`)
  try {
    return toCid(text, name)
  } catch (cause) {
    // A mistyped argument is a usage error (exit 2), not a data error.
    throw new UsageError(`${name} is not a CID: ${JSON.stringify(text)}`, { cause })
  }
}

/**
 * A root argument as a CID, or an IPNS name (`/ipns/k51…`) resolved once through the store the flags
 * name (`--gateway` verifies the signed record; `--kubo` asks the daemon); the message names the argument.
 */
export async function rootOf(context: Context, text: string | undefined, name = 'ROOT'): Promise<CID> {
  if (!isIpnsPath(text)) return parseRoot(text, name)
  // Asked of the flags first: the on-disk store cannot resolve names, whether it exists or not.
  const store =
    context.options.kubo === undefined && context.options.gateways.length === 0
      ? undefined
      : await context.store()
  if (!canResolveNames(store)) {
    throw new UsageError(`${name} ${text} is an IPNS name: give --gateway URL or --kubo URL to resolve it`)
  }
  let root: ReturnType<typeof rootArgument>
  try {
    root = rootArgument(text, name, store)
  } catch (error) {
    // A malformed name is a mistake in the command line; what its record says is data (exit 1).
    if (isHamtError(error, 'ERR_INVALID_ARGUMENT')) throw new UsageError(error.message, { cause: error })
    throw error
  }
  return toCid(await resolveRootArgument(root, store, context.signal), name)
}

/** The store as a writer of whole blocks, or a clear error for read-only stores. */
export function asSink(store: CliStore, storeName: string): BlockSink {
  if (typeof store.putBlock !== 'function' || store instanceof TrustlessGatewayStore) {
    throw new UsageError(`the store (${storeName}) is read-only: use the disk store or --kubo`)
  }
  return store as BlockSink
}
