// What the lost-marker tests of a DiskStore share: this process's marker, another process's
// collection done by hand, and a seeded map to lose blocks of.
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { isOwnMarker } from '../../src/cas/disk-marker-names.js'
import { HAMT } from '../../src/index.js'
import type { DiskStore } from '../../src/node/index.js'
import { mulberry32 } from './random.js'

/** This process's writer marker in `directory`, if there is one. */
export const ownMarkerIn = async (directory: string): Promise<string | undefined> =>
  (await readdir(directory)).find(isOwnMarker)

/** Deletes every block file, as another process's collection does when it finds no live writer; the count. */
export async function deleteBlockFiles(directory: string): Promise<number> {
  let deleted = 0
  for (const shard of await readdir(directory, { withFileTypes: true })) {
    if (!shard.isDirectory()) continue
    for (const name of await readdir(join(directory, shard.name))) {
      if (!name.endsWith('.data')) continue
      await rm(join(directory, shard.name, name), { force: true })
      deleted++
    }
  }
  return deleted
}

/** A map of `count` seeded entries on `store`. */
export async function seededMap(store: DiskStore, seed: number, count: number) {
  const random = mulberry32(seed)
  const entries = Array.from(
    { length: count },
    (_, i) => [`key ${seed} ${i}`, `value ${random().toString(36)} `.repeat(1 + (i % 20))] as const,
  )
  const map = await HAMT.create<string>({ store })
  for (const [key, value] of entries) await map.set(key, value)
  return { map, entries }
}
