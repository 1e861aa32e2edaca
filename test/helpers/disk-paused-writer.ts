// A child process for the writer-marker tests: flushes a map of `count` entries (made from `seed`)
// into a DiskStore. `pause`: holds its flush after its third block write until a line arrives on
// stdin, then prints how many entries its root is missing. `quick`: flushes and exits.
import { HAMT } from '../../src/index.js'
import { DiskStore } from '../../src/node/index.js'

const [directory, seed, count, mode] = process.argv.slice(2)
const store = await DiskStore.open(directory as string)
const map = await HAMT.create<string>({ store })
const entries = Array.from({ length: Number(count) }, (_, i) => [
  `key ${seed} ${i}`,
  `value ${i} `.repeat(40),
])
for (const [key, value] of entries) await map.set(key as string, value as string)
if (mode === 'pause') {
  const blockstore = store.blockstore
  const put = blockstore.put.bind(blockstore)
  let puts = 0
  const lines = process.stdin[Symbol.asyncIterator]()
  blockstore.put = async (...args: Parameters<typeof put>) => {
    const written = await put(...args)
    if (++puts === 3) {
      process.stdout.write(`paused ${process.pid}\n`)
      await lines.next()
    }
    return written
  }
}
const root = await map.flush()
if (mode !== 'pause') {
  process.stdout.write(`flushed ${process.pid}\n`)
} else {
  // A root block gone: every entry is.
  const again = await HAMT.open<string>(root, { store: await DiskStore.open(directory as string) }).catch(
    () => undefined,
  )
  let missing = 0
  for (const [key, value] of entries) {
    const got = await again?.get(key as string).catch(() => undefined)
    if (got !== value) missing++
  }
  process.stdout.write(`${JSON.stringify({ missing })}\n`)
  process.stdin.destroy()
}
