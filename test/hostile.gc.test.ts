// Garbage collection on stores holding hostile blocks: a damaged kept block, a kept block linking
// through a codec the walk cannot follow, a block linking to one block many times, and files in the
// store directory that are not blocks. Each ends within budget, with a typed error where the mark
// cannot finish, and removes nothing then.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { blake3Hasher, collectGarbage, loadBlake3 } from '../src/blocks.js'
import { DiskStore } from '../src/node/index.js'
import { blockFiles } from './helpers/gc-store.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-hostile-gc-'))
after(() => rm(scratch, { recursive: true, force: true }))
let dirs = 0

async function put(store: DiskStore, code: number, bytes: Uint8Array): Promise<CID> {
  const cid = CID.createV1(code, await blake3Hasher.digest(bytes))
  await store.putBlock(cid, bytes)
  return cid
}

/** A store with a kept dag-cbor root over `links`, and one unreachable raw block. */
async function storeWith(
  links: (store: DiskStore) => Promise<CID[]>,
): Promise<{ store: DiskStore; root: CID }> {
  const store = await DiskStore.open(join(scratch, `store-${dirs++}`))
  const root = await put(store, dagCbor.code, dagCbor.encode({ links: await links(store) }))
  await put(store, raw.code, new TextEncoder().encode('garbage'))
  await store.flush()
  return { store, root }
}

describe('collectGarbage on hostile stores', () => {
  it('a kept block whose file was changed on disk: ERR_INTEGRITY, nothing removed', async () => {
    const { store, root } = await storeWith(async (s) => [
      await put(s, dagCbor.code, dagCbor.encode({ inner: await put(s, raw.code, Uint8Array.of(1, 2, 3)) })),
    ])
    const [inner] = (dagCbor.decode(await store.getBlock(root)) as { links: CID[] }).links as [CID]
    const files = await blockFiles(store.directory)
    // Same length, other bytes: the file's name no longer matches its contents.
    const { dir, file } = (
      store.blockstore as unknown as { shardingStrategy: { encode(c: CID): { dir: string; file: string } } }
    ).shardingStrategy.encode(inner)
    const path = join(store.directory, dir, file)
    const bytes = await readFile(path)
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
    await writeFile(path, bytes)
    const outcome = await withinBudget('damaged kept block', (signal) =>
      collectGarbage(store, { keep: [root], signal }),
    )
    assertTypedError(outcome, 'ERR_INTEGRITY')
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
    await writeFile(path, bytes)
    assert.deepEqual(await blockFiles(store.directory), files)
  })

  it('a kept block linking to a dag-json block: ERR_INVALID_VALUE (its links cannot be followed), nothing removed', async () => {
    const { store, root } = await storeWith(async (s) => [
      await put(s, 0x0129, new TextEncoder().encode('{"a":{"/":"bafkqaaa"}}')),
    ])
    const files = await blockFiles(store.directory)
    const outcome = await withinBudget('dag-json under a kept root', (signal) =>
      collectGarbage(store, { keep: [root], signal }),
    )
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.match(String((outcome.error as Error).message), /only dag-cbor, dag-pb and raw/)
    assert.deepEqual(await blockFiles(store.directory), files)
  })

  it('25,000 links to one block and an identity CID: each visited once', async () => {
    const { store, root } = await storeWith(async (s) => {
      const leaf = await put(s, raw.code, Uint8Array.of(9))
      const inline = CID.createV1(raw.code, identity.digest(Uint8Array.of(7)))
      // 25 000 links: a 0.9 MB block, under the 1 MB the memory budget is for.
      return [...Array.from({ length: 25_000 }, () => leaf), inline]
    })
    const outcome = await withinBudget('many links', (signal) =>
      collectGarbage(store, { keep: [root], signal }),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
    assert.deepEqual(outcome.value, { dryRun: false, marked: 3, removed: 1, removedBytes: 7 })
  })

  it('files that are not blocks stay, and a lock file with nonsense in it is no obstacle', async () => {
    const { store, root } = await storeWith(async () => [])
    const strangers = [
      join(store.directory, 'README'),
      join(store.directory, 'AB', 'not-base32!.data'),
      join(store.directory, 'AB', 'BAAAA.data'),
      join(store.directory, 'lowercase', 'x.data'),
    ]
    await mkdir(join(store.directory, 'AB'), { recursive: true })
    await mkdir(join(store.directory, 'lowercase'), { recursive: true })
    for (const path of strangers) await writeFile(path, 'not a block')
    await writeFile(join(store.directory, '.ts-hamt-gc'), 'not a pid')
    const outcome = await withinBudget('strangers', (signal) =>
      collectGarbage(store, { keep: [root], signal }),
    )
    assert.equal(outcome.error, undefined, String(outcome.error))
    assert.equal((outcome.value as { removed: number }).removed, 1)
    for (const path of strangers) assert.equal(await readFile(path, 'utf8'), 'not a block')
  })
})
