// An outsider's attacks on ts-hamt/node's hashing (attack10): a native BLAKE3 that passes the empty
// input's vector but hashes longer blocks wrongly must not be used.
import assert from 'node:assert/strict'
import Module from 'node:module'
import { describe, it } from 'node:test'
import { blake3, loadBlake3 } from '../src/hash/blake3.js'
import { nodeWorkers } from '../src/node/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
await loadBlake3()

type Load = (request: string, parent: unknown, isMain: boolean) => unknown
const loader = Module as unknown as { _load: Load }

/**
 * `@napi-rs/blake-hash` as `fake` while `run` makes the workers. A mock: a broken native binary cannot
 * be built here, and what is checked is only that ts-hamt tests the one it finds before using it.
 */
function withNative<T>(fake: (input: Uint8Array) => Uint8Array, run: () => T): T {
  const original = loader._load
  loader._load = function (request, parent, isMain) {
    if (request === '@napi-rs/blake-hash') return { blake3: fake }
    return original.call(this, request, parent, isMain)
  }
  try {
    return run()
  } finally {
    loader._load = original
  }
}

describe('a native BLAKE3 that disagrees', () => {
  it('right on no bytes, wrong on more (a broken SIMD path): not used, blocks hash as the library does', async () => {
    const empty = blake3(new Uint8Array(0))
    // Wrong only from 1 KiB (more than one BLAKE3 chunk), where its SIMD code would take over.
    const broken = (input: Uint8Array): Uint8Array =>
      input.length === 0 ? empty : input.length < 1024 ? blake3(input) : new Uint8Array(32).fill(7)
    const workers = withNative(broken, () => nodeWorkers({ threads: 0 }))
    try {
      for (const size of [1024, 8193, 70_000 + Math.floor(random() * 100_000)]) {
        const block = Uint8Array.from({ length: size }, () => Math.floor(random() * 256))
        assert.deepEqual(new Uint8Array(await workers.blake3Digest(block)), blake3(block), `${size} bytes`)
      }
    } finally {
      await workers.close()
    }
  })
})
