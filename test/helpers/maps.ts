import assert from 'node:assert/strict'
import { HAMT, type HAMTOptions, MemoryStore } from '../../src/index.js'

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
