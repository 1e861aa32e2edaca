// A child for the lock race test: for each `go` line from the parent (a spin of `delayMs` first) it
// starts a dry-run collection of a DiskStore; a collection that gets the lock answers `collecting`
// at its first block read and waits there for `release`, so it holds the lock until every child of
// the round has answered. A refused one answers `refused` with the message.
import { createInterface } from 'node:readline'
import { collectGarbage, loadBlake3 } from '../../src/blocks.js'
import { isHamtError } from '../../src/index.js'
import { DiskStore } from '../../src/node/index.js'

const [directory, root] = process.argv.slice(2)
if (directory === undefined || root === undefined)
  throw new Error('usage: gc-lock-child.ts <directory> <root>')
await loadBlake3()
const store = await DiskStore.open(directory)
const answer = (message: object): boolean => process.stdout.write(`${JSON.stringify(message)}\n`)

let held: Promise<void> | undefined
let release = (): void => {}
const get = store.blockstore.get.bind(store.blockstore)
store.blockstore.get = async function* (...args: Parameters<typeof get>) {
  if (held === undefined) {
    held = new Promise((resolve) => (release = resolve))
    answer({ outcome: 'collecting' })
  }
  await held
  yield* get(...args)
}

answer({ ready: true })
for await (const line of createInterface({ input: process.stdin })) {
  const message = JSON.parse(line) as { go?: number; release?: true }
  if (message.release) {
    release()
    continue
  }
  const until = performance.now() + (message.go ?? 0)
  while (performance.now() < until) {} // a spin: timers are too coarse to spread the start
  held = undefined
  collectGarbage(store, { keep: [root], dryRun: true }).then(
    () => answer({ outcome: 'done' }),
    (error: unknown) =>
      answer({
        outcome: isHamtError(error) && error.code === 'ERR_STORE' ? 'refused' : 'error',
        message: String((error as Error)?.message ?? error),
      }),
  )
}
