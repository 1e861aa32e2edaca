import { mergeZarrRoots } from '../../dataset/merge.js'
import { isHamtError } from '../../errors.js'
import { parseRoot } from '../context.js'
import type { Command } from './command.js'

export const merge: Command = {
  name: 'merge',
  maxArgs: 3,
  writes: true,
  stopsOnAbort: true,
  summary: 'merge roots A and B, both changed from BASE; print the merged root (conflicts: exit 1)',
  usage: 'merge BASE A B [--json]',
  help: `Keys changed on one side take that side's value; a key changed alike on both is no conflict.
Keys changed differently are listed, one per line as "! KEY (A: kind, B: kind)", nothing is written
and the exit code is 1. Maps and Zarr datasets on a HAMT root, or py-hamt's sharded roots (all three
of one manifest version).
Several writers from one BASE, merged one after another, give the root one writer would.`,
  async run(context, [base, a, b]) {
    const ids = [parseRoot(base, 'BASE'), parseRoot(a, 'A'), parseRoot(b, 'B')] as const
    const store = await context.store()
    try {
      // The Zarr entry point tells HAMT from sharded roots; a plain map merges as a Zarr HAMT root
      // does, and with no resolver its values are never read.
      const root = await mergeZarrRoots(...ids, { store, signal: context.signal })
      context.output.result({ root: String(root) }, () => String(root))
    } catch (error) {
      if (!isHamtError(error, 'ERR_MERGE_CONFLICT')) throw error
      const { conflicts, count } = error
      const lines = conflicts.map((c) => `! ${c.key} (A: ${c.a}, B: ${c.b})`)
      if (count > conflicts.length) lines.push(`… and ${count - conflicts.length} more`)
      context.output.result({ conflicts, count }, () => lines.join('\n'))
      process.exitCode = 1
    }
  },
}
