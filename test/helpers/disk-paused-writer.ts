// A child process for the writer-marker tests: flushes a map of `count` entries (made from `seed`)
// into a DiskStore. `pause`: holds its flush after its third block write until a line arrives on
// stdin, then prints how many entries its root is missing (or its flush's typed error). `block`: as
// `pause`, its event loop blocked meanwhile (no timer, no callback runs). `quick`: flushes and exits.
// `retry`: as `block`, and after its flush's typed error flushes again and prints what that root misses.
// `count`: flushes and prints how many block writes its flush made. An optional fifth argument: the
// block write after which `pause` or `block` holds (3 by default).
import { readSync } from 'node:fs'
import { HAMT } from '../../src/index.js'
import { DiskStore } from '../../src/node/index.js'

const [directory, seed, count, mode, holdAt = '3'] = process.argv.slice(2)
const store = await DiskStore.open(directory as string)
const map = await HAMT.create<string>({ store })
const entries = Array.from({ length: Number(count) }, (_, i) => [
  `key ${seed} ${i}`,
  `value ${i} `.repeat(40),
])
for (const [key, value] of entries) await map.set(key as string, value as string)
const paused = mode === 'pause' || mode === 'block' || mode === 'retry'
let puts = 0
/** Reads stdin synchronously up to a newline: the event loop stays blocked until it arrives. */
function blockUntilLine(): void {
  const byte = Buffer.alloc(1)
  const nap = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      if (readSync(0, byte) === 0 || byte[0] === 0x0a) return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      Atomics.wait(nap, 0, 0, 20)
    }
  }
}
if (paused || mode === 'count') {
  const blockstore = store.blockstore
  const put = blockstore.put.bind(blockstore)
  const lines = mode === 'pause' ? process.stdin[Symbol.asyncIterator]() : undefined
  blockstore.put = async (...args: Parameters<typeof put>) => {
    const written = await put(...args)
    if (++puts === Number(holdAt) && paused) {
      process.stdout.write(`paused ${process.pid}\n`)
      if (lines === undefined) blockUntilLine()
      else await lines.next()
    }
    return written
  }
}
const root = await map.flush().catch((error: { code?: string }) => {
  if (!paused || error?.code === undefined) throw error
  process.stdout.write(
    `${JSON.stringify({ error: error.code, message: String((error as Error).message) })}\n`,
  )
  if (mode === 'retry') return map.flush()
  process.stdin.destroy()
  return undefined
})
if (root === undefined) {
  // Reported above.
} else if (mode === 'count') {
  process.stdout.write(`puts ${puts}\n`)
} else if (!paused) {
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
