import { canResolveNames } from '../../cas/ipns.js'
import { KuboStore } from '../../cas/kubo.js'
import { isHamtError } from '../../errors.js'
import { type Context, rootOf, UsageError } from '../context.js'
import type { Command } from './command.js'

async function kubo(context: Context, action: string): Promise<KuboStore> {
  const store = context.options.kubo === undefined ? undefined : await context.store()
  if (!(store instanceof KuboStore)) {
    throw new UsageError(
      `name ${action} needs a Kubo daemon's keys: give --kubo URL (the store is ${context.storeName})`,
    )
  }
  return store
}

/** `--lifetime`/`--ttl` as given, or nothing. */
function durations(flags: Record<string, unknown>): { lifetime?: string; ttl?: string } {
  return {
    ...(typeof flags.lifetime === 'string' ? { lifetime: flags.lifetime } : {}),
    ...(typeof flags.ttl === 'string' ? { ttl: flags.ttl } : {}),
  }
}

export const nameCommand: Command = {
  name: 'name',
  maxArgs: 2,
  summary: 'name resolve NAME, name publish ROOT, name key KEY: IPNS names of roots',
  usage:
    'name resolve /ipns/NAME [--all] | name publish ROOT [--key KEY] [--lifetime 48h] [--ttl 5m] [--allow-offline] | name key KEY [--type ed25519|rsa]',
  help: `resolve follows a name to its root: with --gateway the signed record is fetched and verified
(signature against the name's key, expiry), with --all from every gateway, keeping the newest; with
--kubo the daemon resolves it. publish points the name of the daemon's key KEY (default self) at ROOT;
key makes a new key on the daemon and prints its name (publish and key need --kubo). Every command
that takes a ROOT also takes /ipns/NAME.`,
  flags: {
    key: { type: 'string' },
    lifetime: { type: 'string' },
    ttl: { type: 'string' },
    type: { type: 'string' },
    all: { type: 'boolean', default: false },
    'allow-offline': { type: 'boolean', default: false },
  },
  async run(context, [action, target], flags) {
    if (action === 'resolve') {
      if (target === undefined) throw new UsageError('NAME is missing: give /ipns/<name>')
      const { kubo, gateways } = context.options
      const store = kubo === undefined && gateways.length === 0 ? undefined : await context.store()
      if (!canResolveNames(store)) {
        throw new UsageError(
          `name resolve needs --gateway URL or --kubo URL (the store is ${context.storeName})`,
        )
      }
      const text = target.startsWith('/ipns/') ? target : `/ipns/${target}`
      const ask = flags.all === true ? 'all' : 'first'
      const resolved = await store
        .resolveName(text, { signal: context.signal, ask })
        .catch((error: unknown) => {
          if (isHamtError(error, 'ERR_INVALID_ARGUMENT'))
            throw new UsageError(error.message, { cause: error })
          throw error
        })
      const root = String(resolved.cid)
      const result = {
        name: resolved.name,
        root,
        ...(resolved.path === '' ? {} : { path: resolved.path }),
        value: resolved.value,
        ...(resolved.sequence === undefined ? {} : { sequence: String(resolved.sequence) }),
        ...(resolved.validity === undefined ? {} : { validity: resolved.validity }),
      }
      context.output.result(result, () => `${root}${resolved.path}`)
      return
    }
    if (action === 'publish') {
      const store = await kubo(context, 'publish')
      const root = await rootOf(context, target)
      const published = await store.publishName(root, {
        signal: context.signal,
        ...(typeof flags.key === 'string' ? { key: flags.key } : {}),
        ...durations(flags),
        allowOffline: flags['allow-offline'] === true,
      })
      const result = {
        name: published.name,
        value: published.value,
        ...(published.sequence === undefined ? {} : { sequence: String(published.sequence) }),
      }
      context.output.result(result, () => `published ${published.value} at ${published.name}`)
      return
    }
    if (action === 'key') {
      if (target === undefined) throw new UsageError('KEY is missing: the name of the new key')
      const store = await kubo(context, 'key')
      const type = flags.type ?? 'ed25519'
      if (type !== 'ed25519' && type !== 'rsa') {
        throw new UsageError(`--type must be ed25519 or rsa, got ${JSON.stringify(type)}`)
      }
      const made = await store.createKey(target, { type, signal: context.signal })
      context.output.result(made, () => made.name)
      return
    }
    throw new UsageError(`name needs resolve, publish or key, got ${JSON.stringify(action)}`)
  },
}
