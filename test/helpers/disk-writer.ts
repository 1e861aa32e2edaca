// A child process for the crash test: writes batches into a DiskStore and prints, one JSON line
// each, `{ "flushing": n }` before and `{ "batch": n, "root": cid }` after every flush, until killed
// (or after `maxBatches`, so a lost parent cannot leave it running).
import { HAMT, loadBlake3 } from '../../src/index.js'
import { DiskStore } from '../../src/node.js'
import { crashBatchEntries } from './crash-model.js'

const [directory, maxBatches = '500'] = process.argv.slice(2)
if (directory === undefined) throw new Error('usage: disk-writer.ts <directory> [maxBatches]')
await loadBlake3()
const map = await HAMT.create<unknown>({ store: await DiskStore.open(directory) })
for (let batch = 0; batch < Number(maxBatches); batch++) {
  for (const [key, value] of crashBatchEntries(batch)) await map.set(key, value)
  process.stdout.write(`${JSON.stringify({ flushing: batch })}\n`)
  const root = await map.flush()
  process.stdout.write(`${JSON.stringify({ batch, root: String(root) })}\n`)
}
