import { HAMT } from '../../hamt/hamt.js'
import { convertHamtToSharded } from '../../sharded/converter.js'
import { asSink, rootOf, UsageError } from '../context.js'
import type { Command } from './command.js'

export const convert: Command = {
  name: 'convert',
  maxArgs: 1,
  writes: true,
  stopsOnAbort: true,
  summary: 'convert a Zarr dataset on a HAMT to py-hamt’s sharded layout; print the new root CID',
  usage: 'convert ROOT [--chunks-per-shard N]',
  help: `Chunks are not copied: the shards link the chunk CIDs the HAMT already holds, so only shards,
metadata and the new root are written. --chunks-per-shard defaults to 6250, as py-hamt's converter.`,
  flags: { 'chunks-per-shard': { type: 'string', default: '6250' } },
  async run(context, [root], flags) {
    const chunksPerShard = Number(flags['chunks-per-shard'])
    if (!Number.isSafeInteger(chunksPerShard) || chunksPerShard < 1) {
      throw new UsageError(`--chunks-per-shard must be a positive integer, got ${flags['chunks-per-shard']}`)
    }
    const store = await context.store()
    asSink(store, context.storeName)
    const source = await HAMT.open<Uint8Array>(await rootOf(context, root), {
      store,
      readOnly: true,
      valuesAreBytes: true,
    })
    const progress = context.output.progress('converting')
    const converted = await convertHamtToSharded(source, store, {
      chunksPerShard,
      signal: context.signal,
      onProgress: ({ phase, done, total }) => progress.update(done, total, phase),
    })
    progress.done()
    context.output.result({ source: String(root), root: String(converted), chunksPerShard }, () =>
      String(converted),
    )
  },
}
