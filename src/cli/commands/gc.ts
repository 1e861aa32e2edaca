import { collectGarbage } from '../../car/gc.js'
import { DiskStore } from '../../cas/disk.js'
import { parseRoot, UsageError } from '../context.js'
import type { Command } from './command.js'

export const gc: Command = {
  name: 'gc',
  stopsOnAbort: true,
  summary: 'remove every block of the on-disk store that no kept root reaches',
  usage: 'gc --keep ROOT [--keep ROOT]... [--dry-run] [--json]   |   gc --all [--dry-run]',
  help: `Marks every block the kept roots reach (maps, Zarr datasets, UnixFS values), then deletes the
rest; nothing is deleted if a kept block is missing or damaged. --dry-run reports what would go.
--all (instead of --keep) empties the store. Killed midway, the kept roots are whole: run it again.
Other processes cannot flush to the store while it runs. For Kubo, use its own \`ipfs repo gc\`.`,
  flags: {
    keep: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
  },
  async run(context, args, flags) {
    if (args.length > 0) {
      throw new UsageError(`gc takes its roots as --keep ROOT, got ${JSON.stringify(args[0])}`)
    }
    const keep = ((flags.keep as string[] | undefined) ?? []).map((text) => parseRoot(text, '--keep'))
    const all = flags.all === true
    if (keep.length === 0 && !all) {
      throw new UsageError(
        'gc without --keep would remove every block: give --keep ROOT for each root to keep, or --all to empty the store',
      )
    }
    if (keep.length > 0 && all) throw new UsageError('--all removes every block: give it without --keep')
    const dryRun = flags['dry-run'] === true
    const store = await context.store()
    if (!(store instanceof DiskStore)) {
      throw new UsageError(
        `gc works on the on-disk store, not ${context.storeName}; Kubo collects its own with \`ipfs repo gc\``,
      )
    }
    const progress = context.output.progress(dryRun ? 'gc (dry run)' : 'gc')
    const result = await collectGarbage(store, {
      keep,
      all,
      dryRun,
      signal: context.signal,
      onProgress: ({ phase, marked, removed }) =>
        progress.update(
          phase === 'mark' ? marked : removed,
          undefined,
          phase === 'mark' ? 'marked' : 'removed',
        ),
    })
    progress.done()
    context.output.result(
      result,
      () =>
        `${dryRun ? 'would remove' : 'removed'} ${result.removed} blocks (${result.removedBytes} bytes); ` +
        `${result.marked} blocks reachable from the kept roots`,
    )
  },
}
