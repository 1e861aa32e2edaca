import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { HAMT, type HAMTOptions, MemoryStore, type StoreId } from '../../src/index.js'

export async function newMap<V = unknown>(options: Partial<HAMTOptions> = {}): Promise<HAMT<V>> {
  const store = options.store ?? (await MemoryStore.create())
  return HAMT.create<V>({ ...options, store })
}

/** Asserts the tree obeys every structural rule (spec §3); the message lists the violations. */
export async function assertSound(map: HAMT<unknown>, context = ''): Promise<void> {
  const { problems } = await map.verify()
  assert.deepEqual(problems, [], `tree invariants broken ${context}`)
}

/** A hash function of one byte: the key's first char code, so tests choose collisions freely. */
export const firstCharHash = (data: Uint8Array): Uint8Array => Uint8Array.of(data[0] ?? 0)

/** Every file under `path` as a HAMT key (its relative path with `/`), in one in-memory HAMT. */
export async function hamtOfDirectory(path: string): Promise<{ root: StoreId; store: MemoryStore }> {
  const store = await MemoryStore.create()
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(entry.parentPath, entry.name)
    await map.set(relative(path, file).split(sep).join('/'), new Uint8Array(readFileSync(file)))
  }
  return { root: await map.flush(), store }
}
