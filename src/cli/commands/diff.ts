import { diffZarrRoots, type ZarrChange } from '../../dataset/diff.js'
import { zarrLayoutOf } from '../../dataset/open.js'
import { HAMT } from '../../hamt/hamt.js'
import { type Context, rootOf } from '../context.js'
import type { Command } from './command.js'

const SIGN = { added: '+', removed: '-', changed: '~' } as const

export const diff: Command = {
  name: 'diff',
  maxArgs: 2,
  stopsOnAbort: true,
  summary:
    'what changed from root A to root B: keys of a map, or arrays, metadata and chunks of a Zarr dataset',
  usage: 'diff A B [--zarr] [--json]',
  help: `Reads only where the two versions differ. Lines start with + (added), - (removed) or ~ (changed).
A map's diff lists keys; with --zarr (implied for sharded roots) a dataset's diff lists arrays and
groups added or removed, metadata documents changed, and chunks by array path and coordinates.`,
  flags: { zarr: { type: 'boolean', default: false } },
  async run(context, [from, to], flags) {
    const a = await rootOf(context, from, 'A')
    const b = await rootOf(context, to, 'B')
    const store = await context.store()
    const layoutOf = async (root: typeof a): Promise<string> =>
      zarrLayoutOf(await store.load(root, { signal: context.signal }), String(root)).kind
    // Both roots: a HAMT A against a sharded B must get the dataset diff's mixed-layout error, not
    // fail later reading B as a malformed HAMT node.
    const [layoutA, layoutB] = await Promise.all([layoutOf(a), layoutOf(b)])
    if (flags.zarr === true || layoutA === 'sharded' || layoutB === 'sharded')
      return report(context, diffZarrRoots(a, b, { store, signal: context.signal }), zarrLine)
    const changes = HAMT.diff(a, b, { store, keysOnly: true, valuesAreBytes: true, signal: context.signal })
    await report(context, changes, (change) => `${SIGN[change.kind]} ${change.key}`)
  },
}

/** Streams lines as changes come; with --json, one document `{ changes: [...] }` at the end. */
async function report<T>(
  context: Context,
  changes: AsyncIterable<T>,
  line: (change: T) => string,
): Promise<void> {
  const found: T[] = []
  for await (const change of changes) {
    if (context.output.json) found.push(change)
    else context.output.line(line(change))
  }
  if (context.output.json) context.output.result({ changes: found })
}

function zarrLine(change: ZarrChange): string {
  switch (change.type) {
    case 'node':
      return `${SIGN[change.kind]} ${change.nodeType ?? 'node'} ${change.path || '/'}`
    case 'metadata':
      return `${SIGN[change.kind]} metadata ${change.key}`
    case 'chunk':
      return `${SIGN[change.kind]} chunk ${change.path || '/'} [${change.coords.join(', ')}]`
    case 'other':
      return `${SIGN[change.kind]} ${change.key}`
  }
}
