// A child process for the garbage-collection crash test: collects garbage in a DiskStore, keeping
// the given roots, and SIGKILLs itself right after its `killAfter`-th block delete (mode `delete`)
// or block read (mode `read`, during the mark), wherever the collection is.
import { collectGarbage, loadBlake3 } from '../../src/blocks.js'
import { DiskStore } from '../../src/node/index.js'

const [directory, roots, mode, killAfter] = process.argv.slice(2)
if (directory === undefined || roots === undefined || (mode !== 'delete' && mode !== 'read')) {
  throw new Error('usage: gc-child.ts <directory> <root,root…> delete|read <killAfter>')
}
await loadBlake3()
const store = await DiskStore.open(directory)
const blockstore = store.blockstore
let calls = 0
const countCall = (): void => {
  if (++calls === Number(killAfter)) process.kill(process.pid, 'SIGKILL')
}
if (mode === 'delete') {
  const remove = blockstore.delete.bind(blockstore)
  blockstore.delete = async (...args: Parameters<typeof remove>) => {
    await remove(...args)
    countCall()
  }
} else {
  const get = blockstore.get.bind(blockstore)
  blockstore.get = async function* (...args: Parameters<typeof get>) {
    yield* get(...args)
    countCall()
  }
}
const result = await collectGarbage(store, { keep: roots.split(',') })
process.stdout.write(`${JSON.stringify(result)}\n`)
