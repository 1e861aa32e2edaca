// A child process for the crash test: writes batches into a DiskStore, printing one JSON line
// `{ "batch": n, "root": cid }` after every flush. With a kill count it SIGKILLs itself right after
// that many block writes, wherever the flush is: other writes may be half done on disk.
import { loadBlake3 } from '../../src/blocks.js'
import { HAMT } from '../../src/index.js'
import { DiskStore } from '../../src/node/index.js'
import { crashBatchEntries } from './crash-model.js'

const [directory, killAfterPuts = '0', maxBatches = '40'] = process.argv.slice(2)
if (directory === undefined) throw new Error('usage: disk-writer.ts <directory> [killAfterPuts] [maxBatches]')
await loadBlake3()
const store = await DiskStore.open(directory)
const blockstore = store.blockstore
const put = blockstore.put.bind(blockstore)
let puts = 0
blockstore.put = async (...args: Parameters<typeof put>) => {
  const written = await put(...args)
  if (++puts === Number(killAfterPuts)) process.kill(process.pid, 'SIGKILL')
  return written
}
const map = await HAMT.create<unknown>({ store })
for (let batch = 0; batch < Number(maxBatches); batch++) {
  for (const [key, value] of crashBatchEntries(batch)) await map.set(key, value)
  const root = await map.flush()
  process.stdout.write(`${JSON.stringify({ batch, root: String(root), puts })}\n`)
}
