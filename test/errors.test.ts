import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as errors from '../src/errors.js'
import { HAMT, isHamtError, MemoryStore } from '../src/index.js'

describe('errors', () => {
  it('every error class carries at run time the code its type declares (isHamtError narrows by it)', () => {
    const checked = new Set<string>()
    // `code` must be the class's declared literal (a compile error otherwise); the assert checks the
    // constructor really passes it.
    const check = <E extends errors.AnyHamtError>(error: E, code: E['code']): void => {
      assert.equal(error.code, code, error.name)
      assert.ok(isHamtError(error, code))
      checked.add(error.name)
    }
    check(new errors.InvalidArgumentError('m'), 'ERR_INVALID_ARGUMENT')
    check(new errors.InvalidHashError('m'), 'ERR_INVALID_HASH')
    check(new errors.HashExhaustedError('m'), 'ERR_HASH_EXHAUSTED')
    check(new errors.KeyNotFoundError('k'), 'ERR_KEY_NOT_FOUND')
    check(new errors.BlockNotFoundError('m'), 'ERR_BLOCK_NOT_FOUND')
    check(new errors.InvalidNodeError('m'), 'ERR_INVALID_NODE')
    check(new errors.RangeNotSatisfiableError('m'), 'ERR_RANGE_NOT_SATISFIABLE')
    check(new errors.ReadOnlyError('set'), 'ERR_READ_ONLY')
    check(new errors.UnflushedChangesError(), 'ERR_UNFLUSHED_CHANGES')
    check(new errors.StoreError('m'), 'ERR_STORE')
    check(new errors.GatewaysFailedError('reading x', []), 'ERR_STORE')
    check(new errors.IntegrityError('m'), 'ERR_INTEGRITY')
    check(new errors.DecryptionError('m'), 'ERR_DECRYPTION')
    check(new errors.InvalidValueError('m'), 'ERR_INVALID_VALUE')
    check(new errors.InvalidManifestError('m'), 'ERR_INVALID_MANIFEST')
    check(new errors.ChunkOutOfBoundsError('k', 'm'), 'ERR_CHUNK_OUT_OF_BOUNDS')
    check(new errors.LabelNotFoundError('45.3', 'lat'), 'ERR_LABEL_NOT_FOUND')
    check(new errors.MergeConflictError([{ key: 'k', a: 'added', b: 'removed' }], 1), 'ERR_MERGE_CONFLICT')
    check(new errors.IpnsRecordError('/ipns/k51', 'expired', 'm'), 'ERR_IPNS_RECORD')
    check(new errors.OutOfMemoryError('m'), 'ERR_OUT_OF_MEMORY')
    const classes = Object.keys(errors).filter((name) => /^[A-Z]\w*Error$/.test(name) && name !== 'HamtError')
    assert.deepEqual([...checked].sort(), classes.sort(), 'a class without a check here')
  })

  it('isHamtError with a code narrows to that class: its own fields are typed', async () => {
    const map = await HAMT.create<number>({ store: await MemoryStore.create() })
    const error = await map.delete('missing').then(
      () => undefined,
      (err: unknown) => err,
    )
    assert.ok(isHamtError(error, 'ERR_KEY_NOT_FOUND'))
    assert.equal(error.key, 'missing') // compiles only because the guard narrowed to KeyNotFoundError
    assert.equal(isHamtError(error, 'ERR_STORE'), false)
    assert.equal(isHamtError(new Error('x')), false)
  })
})
