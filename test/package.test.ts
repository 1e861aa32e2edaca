import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import * as blocksApi from '../src/blocks.js'
import * as datasetApi from '../src/dataset.js'
import * as api from '../src/index.js'
import * as layoutApi from '../src/layout.js'
import * as nodeApi from '../src/node/index.js'
import * as telemetryApi from '../src/telemetry/index.js'
import * as zstdApi from '../src/zstd/index.js'
import * as zstdNodeApi from '../src/zstd/node.js'
import { ensureCliBuilt } from './helpers/cli.js'

const repo = fileURLToPath(new URL('..', import.meta.url))

describe('package', () => {
  it('exports exactly the documented public API (update README and this list together)', () => {
    // The root is what a user reaches for: the map, the stores, the Zarr stores, CAR files, the errors.
    assert.deepEqual(Object.keys(api).sort(), [
      'BlockNotFoundError',
      'BlockstoreStore',
      'ChunkOutOfBoundsError',
      'DecryptionError',
      'EncryptedZarrHAMTStore',
      'GatewaysFailedError',
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
      'IpnsRecordError',
      'KeyNotFoundError',
      'KuboStore',
      'LabelNotFoundError',
      'MERGE_DELETE',
      'MemoryStore',
      'MergeConflictError',
      'OutOfMemoryError',
      'RangeNotSatisfiableError',
      'ReadOnlyError',
      'ShardedZarrStore',
      'StoreError',
      'TrustlessGatewayStore',
      'UnflushedChangesError',
      'ZarrHAMTStore',
      'diffZarrRoots',
      'exportCar',
      'importCar',
      'isHamtError',
      'mergeZarrRoots',
      'openZarrRoot',
    ])
  })

  it('exports building blocks and Zarr layout tools from their own subpaths (ts-hamt/blocks, ts-hamt/layout)', async () => {
    assert.deepEqual(Object.keys(blocksApi).sort(), [
      'blake3',
      'blake3Hasher',
      'blake3Multihash',
      'bytesToHex',
      'collectGarbage',
      'formatId',
      'hexToBytes',
      'isStoreId',
      'linksOf',
      'loadBlake3',
      'resolveByteRange',
    ])
    assert.deepEqual(Object.keys(layoutApi).sort(), ['convertHamtToSharded', 'hamtKey', 'zarrLayoutOf'])
    // Each name has one home: no entry point repeats another's runtime exports.
    const homes = [api, nodeApi, blocksApi, layoutApi, zstdApi, telemetryApi, datasetApi].flatMap((entry) =>
      Object.keys(entry),
    )
    assert.deepEqual(
      homes.filter((name, i) => homes.indexOf(name) !== i),
      [],
    )
    const manifest = (await import('../package.json', { with: { type: 'json' } })).default
    for (const name of ['blocks', 'layout']) {
      assert.deepEqual(manifest.exports[`./${name}` as keyof typeof manifest.exports], {
        types: `./dist/${name}.d.ts`,
        import: `./dist/${name}.js`,
        default: `./dist/${name}.js`,
      })
    }
  })

  it('exports labelled datasets from their own subpath (ts-hamt/dataset), which alone needs zarrita at run time', () => {
    assert.deepEqual(Object.keys(datasetApi).sort(), [
      'CFDatetime',
      'DataArray',
      'Dataset',
      'LoadedDataset',
      'Variable',
      'decodeTimes',
      'encodeTime',
      'openDataset',
      'parseTimeUnits',
    ])
  })

  it("names the dataset classes' methods alike (toCSV on a Variable, a DataArray and a LoadedDataset)", () => {
    const methods = (cls: { prototype: object }): string[] =>
      Object.getOwnPropertyNames(cls.prototype)
        .filter((name) => name !== 'constructor')
        .sort()
    assert.deepEqual(methods(datasetApi.Dataset), [
      'box',
      'coords',
      'dataVars',
      'dims',
      'isel',
      'load',
      'point',
      'sel',
      'timeRange',
      'variable',
      'variables',
    ])
    assert.deepEqual(methods(datasetApi.Variable), [
      'blocks',
      'box',
      'coords',
      'encoding',
      'isel',
      'load',
      'point',
      'sel',
      'size',
      'timeRange',
      'toCSV',
    ])
    assert.deepEqual(methods(datasetApi.DataArray), ['toCSV', 'toRecords'])
    assert.deepEqual(methods(datasetApi.LoadedDataset), ['toCSV', 'toRecords'])
  })

  it('serves ts-hamt/dataset to Node from its Node entry (the node condition first), with the same names', async () => {
    // In Node, openDataset({ gateways }) gets the root Node entry's defaults: node:http and native BLAKE3.
    const manifest = (await import('../package.json', { with: { type: 'json' } })).default
    assert.deepEqual(Object.entries(manifest.exports['./dataset']), [
      ['types', './dist/dataset.d.ts'],
      ['node', './dist/dataset.node.js'],
      ['import', './dist/dataset.js'],
      ['default', './dist/dataset.js'],
    ])
    assert.ok(manifest.sideEffects.includes('./dist/dataset.node.js'))
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
      default: './dist/node/index.js',
    })
  })

  it('exports zstd registration from its own subpath (ts-hamt/zstd), for Node and for the rest alike', async () => {
    // The `node` condition comes before `import`: Node gets zlib's zstd, bundlers for browsers never see node:zlib.
    assert.deepEqual(Object.keys(zstdApi).sort(), ['registerZstdCodec', 'zstdFrameContentSize'])
    assert.deepEqual(Object.keys(zstdNodeApi).sort(), Object.keys(zstdApi).sort())
    const manifest = (await import('../package.json', { with: { type: 'json' } })).default
    assert.deepEqual(Object.entries(manifest.exports['./zstd']), [
      ['types', './dist/zstd/index.d.ts'],
      ['node', './dist/zstd/node.js'],
      ['import', './dist/zstd/index.js'],
      ['default', './dist/zstd/index.js'],
    ])
    // zarrita is the app's own: a peer, so that the registry registerZstdCodec() changes is the one the app reads with.
    assert.equal(manifest.peerDependencies?.zarrita, manifest.devDependencies?.zarrita)
    assert.equal((manifest.dependencies as Record<string, string>).zarrita, undefined)
  })

  it('exports telemetry from its own subpath (ts-hamt/telemetry); OpenTelemetry is an optional peer it never imports', async () => {
    assert.deepEqual(Object.keys(telemetryApi).sort(), ['collectRetrievalStats', 'instrument'])
    const manifest = (await import('../package.json', { with: { type: 'json' } })).default
    assert.deepEqual(manifest.exports['./telemetry'], {
      types: './dist/telemetry/index.d.ts',
      import: './dist/telemetry/index.js',
      default: './dist/telemetry/index.js',
    })
    assert.equal(manifest.peerDependenciesMeta['@opentelemetry/api']?.optional, true)
    assert.equal((manifest.dependencies as Record<string, string>)['@opentelemetry/api'], undefined)
  })

  it('bundles for the browser with no Node built-ins: the library, and the read path with zarrita', async () => {
    for (const entry of ['index', 'blocks', 'layout', 'telemetry/index', 'dataset']) {
      await assertBrowserBundle({ entryPoints: [`${repo}/src/${entry}.ts`] })
    }
    // The browser viewer's read path: ts-hamt/dataset from trustless gateways, zstd by WebAssembly.
    await assertBrowserBundle({ entryPoints: [`${repo}/examples/viewer/src/dataset.ts`] })
    // What a web page that reads a published dataset imports: zarrita over a HAMT read from trustless gateways, and CAR export.
    await assertBrowserBundle({
      stdin: {
        contents: `import * as zarr from 'zarrita'
import { HAMT, TrustlessGatewayStore, ZarrHAMTStore, exportCar } from './src/index.ts'
import { registerZstdCodec } from './src/zstd/index.ts'
registerZstdCodec()
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

const run = promisify(execFile)
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))

describe('the package as npm packs it', () => {
  let packed: { files: Array<{ path: string }>; size: number; unpackedSize: number; entryCount: number }
  let paths: Set<string>
  before(async () => {
    await ensureCliBuilt()
    // --ignore-scripts: prepack would rebuild dist/, which ensureCliBuilt has just made current.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repo,
      timeout: 120_000,
    })
    packed = JSON.parse(stdout)[0]
    paths = new Set(packed.files.map((file) => file.path))
    console.log(
      `packed: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB tarball, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
    )
  })

  it('holds dist/, the manifest, README and LICENSE, and no tests, sources, benches or caches', () => {
    for (const path of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
      assert.ok(paths.has(path), `${path} is packed`)
    }
    const stray = [...paths].filter(
      (path) => !/^dist\//.test(path) && !['package.json', 'README.md', 'LICENSE'].includes(path),
    )
    assert.deepEqual(stray, [])
    assert.deepEqual(
      [...paths].filter((path) =>
        /(^|\/)(test|tests|__tests__|fixtures|bench)\/|\.test\.|\.spec\./.test(path),
      ),
      [],
    )
    assert.ok(packed.unpackedSize < 2 * 1024 * 1024, `unpacked size ${packed.unpackedSize} under 2 MiB`)
  })

  it('every exports, types and bin target is in the package', () => {
    const targets = [
      ...exportTargets(manifest.exports),
      ...Object.values(manifest.bin as Record<string, string>),
    ]
    assert.ok(targets.length >= 12)
    for (const entry of ['index', 'blocks', 'layout', 'node/index']) {
      assert.ok(targets.includes(`./dist/${entry}.js`) && targets.includes(`./dist/${entry}.d.ts`), entry)
    }
    for (const target of targets) assert.ok(paths.has(posix.normalize(target)), `${target} is packed`)
  })

  it('has no source maps whose sources are missing (the build emits none; any packed map must resolve)', () => {
    const maps = [...paths].filter((path) => path.endsWith('.map'))
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(repo, map), 'utf8')) as { sources: string[] }
      for (const source of sources) {
        const resolved = posix.normalize(posix.join(posix.dirname(map), source))
        assert.ok(paths.has(resolved), `${map} names ${source}, which is not packed`)
      }
    }
    // Nor a sourceMappingURL comment pointing at a map that is not there.
    for (const path of [...paths].filter((p) => p.endsWith('.js') || p.endsWith('.d.ts'))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(repo, path), 'utf8'))?.[1]
      if (url !== undefined) assert.ok(paths.has(posix.join(posix.dirname(path), url)), `${path} → ${url}`)
    }
  })
})

describe('installed as a dependency', () => {
  // A consumer project whose node_modules/ts-hamt is this package: resolution goes through `exports`.
  let consumer: string
  before(async () => {
    await ensureCliBuilt()
    consumer = await mkdtemp(join(tmpdir(), 'ts-hamt-consumer-'))
    await mkdir(join(consumer, 'node_modules'))
    await symlink(repo, join(consumer, 'node_modules', 'ts-hamt'), 'dir')
  })
  after(() => rm(consumer, { recursive: true, force: true }))

  it(`require() loads every entry point (require(esm), Node ${process.version}), with the same exports as import`, async () => {
    const script = join(consumer, 'use.cjs')
    await writeFile(
      script,
      `const api = require('ts-hamt')
const node = require('ts-hamt/node')
const blocks = require('ts-hamt/blocks')
const layout = require('ts-hamt/layout')
const zstd = require('ts-hamt/zstd')
const telemetry = require('ts-hamt/telemetry')
const { version } = require('ts-hamt/package.json')
const keys = (entry) => Object.keys(entry).sort()
console.log(JSON.stringify({ api: keys(api), node: keys(node), blocks: keys(blocks), layout: keys(layout), zstd: keys(zstd), telemetry: keys(telemetry), version, hamt: typeof api.HAMT.create }))
`,
    )
    const { stdout, stderr } = await run(process.execPath, [script], { cwd: consumer, timeout: 60_000 })
    const got = JSON.parse(stdout)
    assert.deepEqual(got.api, Object.keys(api).sort())
    assert.deepEqual(got.node, Object.keys(nodeApi).sort())
    assert.deepEqual(got.blocks, Object.keys(blocksApi).sort())
    assert.deepEqual(got.layout, Object.keys(layoutApi).sort())
    assert.deepEqual(got.zstd, Object.keys(zstdNodeApi).sort())
    assert.deepEqual(got.telemetry, Object.keys(telemetryApi).sort())
    assert.equal(got.version, manifest.version)
    assert.equal(got.hamt, 'function')
    assert.doesNotMatch(stderr, /Error/)
  })

  it('the root entry loads the ipns package (and @libp2p/crypto) only when a name is resolved: a chunk of its own', async () => {
    // Code splitting, as Vite, Rollup and webpack do for a dynamic import (esbuild: `splitting: true`).
    const result = await build({
      stdin: { contents: `export * from 'ts-hamt'`, resolveDir: consumer, loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      splitting: true,
      outdir: join(consumer, 'split-out'),
      minify: true,
      write: false,
      logLevel: 'silent',
      metafile: true,
    })
    const outputs = result.metafile.outputs
    const entry = Object.keys(outputs).find((path) => outputs[path]?.entryPoint !== undefined) as string
    const eager = new Set([entry])
    for (const path of eager) {
      for (const { path: next, kind } of outputs[path]?.imports ?? [])
        if (kind === 'import-statement') eager.add(next)
    }
    const ipns = /node_modules\/(ipns|@libp2p\/crypto)\//
    const holdsIpns = (path: string): boolean =>
      Object.keys(outputs[path]?.inputs ?? {}).some((input) => ipns.test(input))
    const bytes = (paths: string[]): number =>
      paths.reduce((sum, path) => sum + (outputs[path]?.bytes ?? 0), 0)
    const lazy = Object.keys(outputs).filter((path) => path.endsWith('.js') && !eager.has(path))
    console.log(
      `root, minified: ${bytes([...eager])} bytes loaded at once, ${bytes(lazy)} more on the first name resolved`,
    )
    assert.deepEqual([...eager].filter(holdsIpns), [], 'nothing of ipns is loaded at once')
    assert.ok(lazy.some(holdsIpns), 'ipns is in a chunk loaded on demand')
  })

  it('the root entry loads neither zarrita nor a zstd decoder; ts-hamt/zstd does, node:zlib only in Node', async () => {
    const bundle = async (contents: string, platform: 'browser' | 'node') => {
      const result = await build({
        stdin: { contents, resolveDir: consumer, loader: 'js' },
        bundle: true,
        platform,
        format: 'esm',
        write: false,
        logLevel: 'silent',
        metafile: true,
        external: platform === 'node' ? ['node:*'] : [],
      })
      // Every input, and every import left external (Node's built-ins); node_modules/ts-hamt is a symlink to the repository.
      const { inputs } = result.metafile
      const imported = Object.values(inputs).flatMap((input) => input.imports.map((i) => i.path))
      return [...new Set([...Object.keys(inputs), ...imported])].map((path) =>
        path.replace(/^.*?node_modules\//, 'node_modules/'),
      )
    }
    const zstdPackages = /node_modules\/(zarrita|zstddec|numcodecs|@foxglove\/wasm-zstd|fzstd)\//
    for (const platform of ['browser', 'node'] as const) {
      const root = await bundle(`export * from 'ts-hamt'`, platform)
      assert.ok(
        root.some((path) => path.endsWith('dist/index.js')),
        `${platform}: ${root.slice(0, 5)}`,
      )
      assert.deepEqual(
        root.filter((path) => zstdPackages.test(path)),
        [],
        `the root for ${platform}`,
      )
    }
    const browser = await bundle(`export * from 'ts-hamt/zstd'`, 'browser')
    assert.ok(browser.some((path) => path.endsWith('dist/zstd/index.js')))
    assert.ok(browser.some((path) => path.startsWith('node_modules/zstddec/')))
    assert.deepEqual(
      browser.filter((path) => path.startsWith('node:')),
      [],
    )
    const node = await bundle(`export * from 'ts-hamt/zstd'`, 'node')
    assert.ok(node.some((path) => path.endsWith('dist/zstd/node.js')))
    assert.ok(node.includes('node:zlib'))
  })

  it('in Node, ts-hamt/dataset resolves to its Node entry, with the names of the browser entry', async () => {
    const script = join(consumer, 'dataset.mjs')
    await writeFile(
      script,
      `import * as dataset from 'ts-hamt/dataset'
console.log(JSON.stringify({ url: import.meta.resolve('ts-hamt/dataset'), names: Object.keys(dataset).sort() }))
`,
    )
    const { stdout } = await run(process.execPath, [script], { cwd: consumer, timeout: 60_000 })
    const got = JSON.parse(stdout)
    assert.match(got.url, /\/dist\/dataset\.node\.js$/)
    assert.deepEqual(got.names, Object.keys(datasetApi).sort())
  })

  it('in Node, ts-hamt/zstd decodes with zlib where Node has zstd, else zstddec', async () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
    const hasZstd = major >= 24 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15)
    const script = join(consumer, 'zstd.mjs')
    await writeFile(
      script,
      `import { registerZstdCodec } from 'ts-hamt/zstd'
console.log(import.meta.resolve('ts-hamt/zstd'), registerZstdCodec(undefined, new Map([['zstd', async () => ({})]])).name)
`,
    )
    const { stdout } = await run(process.execPath, [script], { cwd: consumer, timeout: 60_000 })
    assert.match(stdout, new RegExp(`/dist/zstd/node\\.js ${hasZstd ? 'node:zlib' : 'zstddec'}\n$`))
  })

  it('import by package name resolves to dist/ and works', async () => {
    const script = join(consumer, 'use.mjs')
    await writeFile(
      script,
      `import { HAMT, MemoryStore } from 'ts-hamt'
import { DiskStore } from 'ts-hamt/node'
const map = await HAMT.create({ store: await MemoryStore.create() })
await map.set('a', 1)
console.log(import.meta.resolve('ts-hamt'), typeof DiskStore, await map.get('a'))
`,
    )
    const { stdout } = await run(process.execPath, [script], { cwd: consumer, timeout: 60_000 })
    // Node takes the root's `node` condition: the same API with node:http and native BLAKE3 as defaults.
    assert.match(stdout, /\/dist\/index\.node\.js function 1\n$/)
  })
})

/** Every file path named in an `exports` map, whatever the conditions' nesting. */
function exportTargets(entry: unknown): string[] {
  if (typeof entry === 'string') return [entry]
  if (entry === null || typeof entry !== 'object') return []
  return Object.values(entry).flatMap(exportTargets)
}

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
  // OpenTelemetry is the user's to pass (ts-hamt/telemetry's instrument): no bundle may pull it in.
  assert.deepEqual(
    inputs.filter((path) => path.includes('@opentelemetry')),
    [],
  )
  assert.ok((result.outputFiles[0]?.contents.length ?? 0) > 10_000)
}
