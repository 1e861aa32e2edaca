import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import * as api from '../src/index.js'
import * as nodeApi from '../src/node/index.js'

const repo = fileURLToPath(new URL('..', import.meta.url))

describe('package', () => {
  it('exports exactly the documented public API (update README and this list together)', () => {
    assert.deepEqual(Object.keys(api).sort(), [
      'BlockNotFoundError',
      'BlockstoreStore',
      'ChunkOutOfBoundsError',
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
      'InvalidManifestError',
      'InvalidNodeError',
      'InvalidValueError',
      'KeyNotFoundError',
      'KuboStore',
      'MemoryStore',
      'RangeNotSatisfiableError',
      'ReadOnlyError',
      'ShardedZarrStore',
      'StoreError',
      'TrustlessGatewayStore',
      'UnflushedChangesError',
      'ZarrHAMTStore',
      'blake3',
      'blake3Hasher',
      'blake3Multihash',
      'bytesToHex',
      'convertHamtToSharded',
      'exportCar',
      'formatId',
      'hamtKey',
      'hexToBytes',
      'importCar',
      'isHamtError',
      'isStoreId',
      'linksOf',
      'loadBlake3',
      'normalizeGatewayUrl',
      'openZarrRoot',
      'registerZstdCodec',
      'resolveByteRange',
      'zarrLayoutOf',
    ])
  })

  it('exports the Node-only API from its own subpath (ts-hamt/node)', async () => {
    // Node-only parts live behind their own subpath, so the browser bundle stays clean.
    assert.deepEqual(Object.keys(nodeApi).sort(), [
      'DiskStore',
      'exportCarFile',
      'importCarFile',
      'nodeHttpFetch',
      'nodeWorkers',
    ])
    const manifest = (await import('../package.json', { with: { type: 'json' } })).default
    assert.deepEqual(manifest.exports['./node'], {
      types: './dist/node/index.d.ts',
      import: './dist/node/index.js',
    })
  })

  it('bundles for the browser with no Node built-ins: the library, and the read path with zarrita', async () => {
    await assertBrowserBundle({ entryPoints: [`${repo}/src/index.ts`] })
    // What a web page that reads a published dataset imports: zarrita over a HAMT read from trustless gateways, and CAR export.
    await assertBrowserBundle({
      stdin: {
        contents: `import * as zarr from 'zarrita'
import { HAMT, TrustlessGatewayStore, ZarrHAMTStore, exportCar } from './src/index.ts'
const store = new TrustlessGatewayStore({ gateways: ['https://gateway.example', 'https://other.example'] })
export const car = (root) => exportCar(store, root)
export async function open(root) {
  const map = await HAMT.open(root, { store, readOnly: true, valuesAreBytes: true })
  return zarr.open(zarr.root(new ZarrHAMTStore(map)), { kind: 'group' })
}`,
        resolveDir: repo,
        loader: 'ts',
      },
    })
  })
})

/** Bundles `entry` for browsers: esbuild fails on any Node built-in, and the metafile must name none. */
async function assertBrowserBundle(entry: Parameters<typeof build>[0]): Promise<void> {
  const result = await build({
    ...entry,
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
}
