// A DiskStore as a killed writer leaves it: a flushed block, and a temporary file beside it in its
// shard folder (blockstore-fs's `.<name>.data.tmp`), for the clean-up and marker tests.
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DiskStore } from '../../src/node/index.js'

/** A store in `directory` with one flushed block; returns the path of the temporary file left beside it. */
export async function storeWithLeftover(directory: string): Promise<{ directory: string; leftover: string }> {
  const store = await DiskStore.open(directory)
  await store.save(new TextEncoder().encode(`a block in ${directory}`), 'raw')
  await store.flush()
  const shard = (await readdir(directory, { withFileTypes: true })).find((e) => e.isDirectory())?.name
  assert.ok(shard !== undefined, 'a shard folder')
  const leftover = join(directory, shard, '.CIQLEFTOVER.data.tmp')
  await writeFile(leftover, 'x')
  return { directory, leftover }
}
