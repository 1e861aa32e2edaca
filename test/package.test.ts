import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import * as api from '../src/index.js'

const repo = fileURLToPath(new URL('..', import.meta.url))

describe('package', () => {
  it('exports exactly the documented public API (update README and this list together)', () => {
    assert.deepEqual(Object.keys(api).sort(), [
      'BlockNotFoundError',
      'DecryptionError',
      'EncryptedZarrHAMTStore',
      'GatewayReader',
      'HAMT',
      'HamtError',
      'HashExhaustedError',
      'HttpStatusError',
      'IntegrityError',
      'InvalidArgumentError',
      'InvalidHashError',
      'InvalidNodeError',
      'InvalidValueError',
      'KeyNotFoundError',
      'KuboStore',
      'MemoryStore',
      'RangeNotSatisfiableError',
      'ReadOnlyError',
      'StoreError',
      'UnflushedChangesError',
      'ZarrHAMTStore',
      'blake3',
      'blake3Hasher',
      'blake3Multihash',
      'bytesToHex',
      'formatId',
      'hamtKey',
      'hexToBytes',
      'idKey',
      'isHamtError',
      'isStoreId',
      'loadBlake3',
      'normalizeGatewayUrl',
      'resolveByteRange',
    ])
  })

  it('bundles for the browser with no Node built-ins', async () => {
    const result = await build({
      entryPoints: [`${repo}/src/index.ts`],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      metafile: true,
    })
    const inputs = Object.keys(result.metafile.inputs)
    assert.deepEqual(
      inputs.filter((path) => path.startsWith('node:')),
      [],
    )
    assert.ok((result.outputFiles[0]?.contents.length ?? 0) > 10_000)
  })
})
