// A child for hostile.disk-rev10: a DiskStore with no write buffer, so each putBlock is written at
// once (the store's full-buffer write, not `flush()`). Per `put N` line from the parent it puts block N
// of the seed (`sameBlock`) and answers `{ put: 'ok' }` or `{ put: 'refused', message }`.
import { createInterface } from 'node:readline'
import { DiskStore } from '../../src/node/index.js'
import { sameBlock } from './disk-same-blocks.js'

const [directory, seed] = process.argv.slice(2)
const store = await DiskStore.open(directory as string, { writeBufferBytes: 0 })
const answer = (message: object): boolean => process.stdout.write(`${JSON.stringify(message)}\n`)
answer({ ready: true })
for await (const line of createInterface({ input: process.stdin })) {
  const { cid, bytes } = await sameBlock(Number(seed), Number(line.split(' ')[1]))
  await store.putBlock(cid, bytes).then(
    () => answer({ put: 'ok' }),
    (error: unknown) => answer({ put: 'refused', message: String((error as Error)?.message ?? error) }),
  )
}
