// The IPNS part of KuboStore: publishing a root under a daemon key, making keys, resolving names
// (through the daemon's RPC, or, for a read-only store, from its gateways' signed records).
import { InvalidArgumentError, StoreError } from '../errors.js'
import type { GatewayReader } from './gateway.js'
import { toCid } from './id.js'
import type { AbortOptions, ResolvedName, ResolveNameOptions, StoreId } from './interface.js'
import { followIpnsName, type NameRecord } from './ipns.js'
import { type IpnsName, parseIpnsName } from './ipns-name.js'

/** What the name functions need of a KuboStore: its RPC (absent when read-only) and its gateways. */
export interface KuboNames {
  rpc:
    | ((command: string, params: Record<string, string>, options: AbortOptions) => Promise<unknown>)
    | undefined
  gateway: GatewayReader
}

/** Options of `KuboStore.publishName`. */
export interface PublishNameOptions extends AbortOptions {
  /** The name of the daemon's key to publish under (`key/list`; see `KuboStore.createKey`); default `self`. */
  key?: string
  /** How long the record stays valid, as Kubo reads durations (`24h`, `90m`); default Kubo's (48h). */
  lifetime?: string
  /** How long resolvers may cache the record (`5m`); default Kubo's. */
  ttl?: string
  /** Publish even when the daemon has no peers (the record is then only in its own datastore); default false. */
  allowOffline?: boolean
}

/** What `KuboStore.publishName` published. */
export interface PublishedName {
  /** The name, as `/ipns/k51…`. */
  name: string
  /** What it points to now: `/ipfs/<root>`. */
  value: string
  /**
   * The new record's sequence, read back from the store's gateways and verified; absent when they
   * do not serve the new record within 10 s (a remote gateway that has not seen it yet).
   */
  sequence?: bigint
}

/** A Kubo duration (`1h30m`, `500ms`, `48h`). */
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/

/** How long a publish waits to read its record back from the gateways for its sequence. */
const READ_BACK_MS = 10_000

/** `name/publish` of `root` under `options.key`; the sequence read back from the gateways when they serve it. */
export async function publishName(
  kubo: KuboNames,
  root: StoreId | string,
  options: PublishNameOptions,
): Promise<PublishedName> {
  const value = `/ipfs/${toCid(root, 'root')}`
  const params: Record<string, string> = { arg: value, key: options.key ?? 'self' }
  for (const [option, given] of [
    ['lifetime', options.lifetime],
    ['ttl', options.ttl],
  ] as const) {
    if (given === undefined) continue
    if (typeof given !== 'string' || !DURATION.test(given)) {
      throw new InvalidArgumentError(
        `${option} must be a duration such as '24h' or '90m', got ${JSON.stringify(given)}`,
      )
    }
    params[option] = given
  }
  if (options.allowOffline) params['allow-offline'] = 'true'
  const answer = (await call(kubo, 'name/publish', params, options)) as { Name?: unknown; Value?: unknown }
  if (typeof answer?.Name !== 'string' || answer.Value !== value) {
    throw new StoreError(
      `name/publish answered ${JSON.stringify(answer).slice(0, 300)}, not the name of ${value}`,
    )
  }
  const name = answeredName(answer.Name, 'name/publish', answer)
  // Informative only, so bounded: a remote gateway may not serve the new record yet.
  const bound = AbortSignal.timeout(READ_BACK_MS)
  const signal = options.signal === undefined ? bound : AbortSignal.any([options.signal, bound])
  const record = await kubo.gateway.getIpnsRecord(name, { signal }).catch(() => undefined)
  options.signal?.throwIfAborted()
  const published: PublishedName = { name: name.path, value }
  if (record?.value === value) published.sequence = record.sequence
  return published
}

/** `key/gen`: a new key on the daemon, and its name. */
export async function createKey(
  kubo: KuboNames,
  key: string,
  options: AbortOptions & { type?: 'ed25519' | 'rsa' },
): Promise<{ key: string; name: string }> {
  if (typeof key !== 'string' || key === '') throw new InvalidArgumentError('key must be a non-empty string')
  const type = options.type ?? 'ed25519'
  if (type !== 'ed25519' && type !== 'rsa') {
    throw new InvalidArgumentError(`type must be 'ed25519' or 'rsa', got ${JSON.stringify(type)}`)
  }
  const answer = (await call(kubo, 'key/gen', { arg: key, type }, options)) as { Id?: unknown }
  return { key, name: answeredName(answer?.Id, 'key/gen', answer).path }
}

/** An IPNS name the daemon answered; anything else is a bad answer (StoreError), not a bad argument. */
function answeredName(name: unknown, command: string, answer: unknown): IpnsName {
  try {
    return parseIpnsName(name, 'the answered name')
  } catch (error) {
    throw new StoreError(`${command} answered ${JSON.stringify(answer)?.slice(0, 300)}, not an IPNS name`, {
      cause: error,
    })
  }
}

/** A name followed step by step: by the daemon (`name/resolve`), or by verified records from the gateways. */
export async function resolveName(
  kubo: KuboNames,
  name: string,
  options: ResolveNameOptions,
): Promise<ResolvedName> {
  options.signal?.throwIfAborted()
  const parsed = parseIpnsName(name, 'name')
  const read =
    kubo.rpc === undefined
      ? (next: IpnsName) => kubo.gateway.getIpnsRecord(next, options)
      : (next: IpnsName) => resolveOneStep(kubo, next, options)
  return followIpnsName(parsed, read, options.signal)
}

async function resolveOneStep(kubo: KuboNames, name: IpnsName, options: AbortOptions): Promise<NameRecord> {
  const params = { arg: name.path, recursive: 'false' }
  const answer = (await call(kubo, 'name/resolve', params, options)) as { Path?: unknown }
  if (typeof answer?.Path !== 'string') {
    throw new StoreError(`name/resolve ${name.path} answered ${JSON.stringify(answer).slice(0, 300)}`)
  }
  return { value: answer.Path }
}

function call(
  kubo: KuboNames,
  command: string,
  params: Record<string, string>,
  options: AbortOptions,
): Promise<unknown> {
  if (kubo.rpc === undefined)
    throw new StoreError(`cannot ${command}: this KuboStore has no rpcUrl (read-only)`)
  return kubo.rpc(command, params, options)
}
