// A child process whose puts of the blocks `disk-same-blocks.ts` writes all fail (aborted), over and
// over, until its stdin ends: a failed put removes its temporary file, which must be its own.
import { DiskStore } from '../../src/node/index.js'
import { sameBlock } from './disk-same-blocks.js'

const [directory, seed, count] = process.argv.slice(2)
const store = await DiskStore.open(directory as string)
const blocks = await Promise.all(Array.from({ length: Number(count) }, (_, i) => sameBlock(Number(seed), i)))
let done = false
process.stdin.on('end', () => (done = true)).resume()
process.stdout.write(`ready ${process.pid}\n`)
const aborted = { signal: AbortSignal.abort() }
while (!done) {
  await Promise.all(blocks.map(({ cid, bytes }) => store.blockstore.put(cid, bytes, aborted).catch(() => {})))
  await new Promise((resolve) => setImmediate(resolve))
}
