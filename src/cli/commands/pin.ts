import { KuboStore } from '../../cas/kubo.js'
import { type Context, rootOf, UsageError } from '../context.js'
import type { Command } from './command.js'

async function kubo(context: Context): Promise<KuboStore> {
  // The flag first: without it the default disk store may not exist, and that is not the problem.
  const store = context.options.kubo === undefined ? undefined : await context.store()
  if (!(store instanceof KuboStore)) {
    throw new UsageError(`pins live in Kubo: give --kubo URL (the store is ${context.storeName})`)
  }
  return store
}

export const pin: Command = {
  name: 'pin',
  maxArgs: 3,
  summary: 'pin add|rm ROOT, pin update FROM TO, pin ls: recursive pins on the Kubo daemon',
  usage: 'pin add ROOT | pin rm ROOT | pin update FROM TO | pin ls   (needs --kubo URL)',
  help: 'pin update moves a recursive pin to a new version: Kubo walks only what differs.',
  async run(context, args) {
    const [action, root] = args
    const store = await kubo(context)
    if (action === 'add' || action === 'rm') {
      const cid = await rootOf(context, root)
      if (action === 'add') await store.pin(cid)
      else await store.unpin(cid)
      context.output.result(
        { [action === 'add' ? 'pinned' : 'unpinned']: String(cid) },
        () => `${action === 'add' ? 'pinned' : 'unpinned'} ${cid}`,
      )
      return
    }
    if (action === 'update') {
      const next = await rootOf(context, args[2], 'TO')
      const cid = await rootOf(context, root, 'FROM')
      await store.updatePin(cid, next)
      context.output.result(
        { unpinned: String(cid), pinned: String(next) },
        () => `moved pin ${cid} -> ${next}`,
      )
      return
    }
    if (action === 'ls') {
      const pins = await store.listPins()
      context.output.result(
        pins.map(({ cid, type }) => ({ cid: String(cid), type })),
        () => pins.map(({ cid, type }) => `${cid} ${type}`).join('\n'),
      )
      return
    }
    throw new UsageError(`pin needs add, rm, update or ls, got ${JSON.stringify(action)}`)
  },
}
