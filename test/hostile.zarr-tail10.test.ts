// A value that does not decrypt is one DecryptionError (which of key, header or bytes is wrong is not
// told), but the library's own failure stays in `cause`, as every ts-hamt error keeps it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DecryptionError, EncryptedZarrHAMTStore, HAMT, MemoryStore } from '../src/index.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const random = mulberry32(seed)
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))

describe(`EncryptedZarrHAMTStore.open of an altered value (seed ${seed})`, () => {
  it('throws a DecryptionError that keeps the cipher failure as its cause', async () => {
    const map = await HAMT.create<Uint8Array>({ store: await MemoryStore.create(), valuesAreBytes: true })
    const store = new EncryptedZarrHAMTStore(map, { key: bytes(32), header: bytes(7) })
    const sealed = store.seal(bytes(1 + Math.floor(random() * 100)))
    const at = Math.floor(random() * sealed.length)
    sealed[at] = (sealed[at] as number) ^ (1 + Math.floor(random() * 255))
    assert.throws(
      () => store.open(sealed, 'a/c/0'),
      (error) => {
        assert.ok(error instanceof DecryptionError)
        assert.equal(error.code, 'ERR_DECRYPTION')
        assert.ok(error.cause instanceof Error, `cause: ${String(error.cause)}`)
        return true
      },
    )
  })
})
