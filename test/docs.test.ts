// Docs are executable: every ```ts block of README.md and every example runs here, as a user would
// run it (imports of 'ts-hamt' point at the source).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as zarr from 'zarrita'
import { HAMT, KuboStore, ZarrHAMTStore } from '../src/index.js'
import { cliBinary, ensureCliBuilt } from './helpers/cli.js'
import { startKubo } from './helpers/kubo.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))

/** Each entry point of package.json's `exports` ('ts-hamt', 'ts-hamt/node', …) → the source file Node resolves it to. */
const entries = new Map(
  Object.entries(
    JSON.parse(await readFile(`${repo}/package.json`, 'utf8')).exports as Record<
      string,
      string | { node?: string; import?: string }
    >,
  ).flatMap(([subpath, target]) => {
    const built = typeof target === 'string' ? target : (target.node ?? target.import)
    if (built === undefined || !built.endsWith('.js')) return []
    const source = `${repo}/${built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`
    return [[subpath === '.' ? 'ts-hamt' : `ts-hamt/${subpath.slice(2)}`, source] as const]
  }),
)

async function runTs(file: string): Promise<string> {
  const { stdout } = await run('node', ['--import', 'tsx', file], { cwd: repo, timeout: 120_000 })
  return stdout
}

describe('README code blocks', async () => {
  // Blocks that use Kubo's default addresses run against a daemon of the test's own.
  const daemon = await startKubo()
  after(() => daemon.stop())
  // The opening example reads a published dataset from public gateways: here, the daemon's gateway.
  const published = await publishExampleDataset(daemon)
  const readme = (await readFile(`${repo}/README.md`, 'utf8'))
    .replaceAll('http://127.0.0.1:5001', daemon.rpcUrl)
    .replaceAll('http://127.0.0.1:8080', daemon.gatewayUrl)
    .replaceAll('https://trustless-gateway.link', daemon.gatewayUrl)
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  it('has code blocks to check', () => assert.ok(blocks.length >= 3))
  const numberOf = (text: string): number => {
    const index = blocks.findIndex((block) => block.includes(text))
    assert.ok(index >= 0, `a README block contains ${text}`)
    return index + 1
  }
  await mkdir(`${repo}/.cache/readme`, { recursive: true })
  for (const [index, block] of blocks.entries()) {
    it(`block ${index + 1} runs`, async () => {
      const file = `${repo}/.cache/readme/block-${index + 1}.ts`
      const source = block.replace(/from '(ts-hamt(?:\/[\w-]+)?)'/g, (_, specifier: string) => {
        const entry = entries.get(specifier)
        assert.ok(entry !== undefined, `${specifier} is an entry point in package.json's exports`)
        return `from '${entry}'`
      })
      // Blocks that write to a directory of their own write under a fresh temporary one.
      await writeFile(file, source.replaceAll("'./my-maps", `'${await mkdtemp(join(tmpdir(), 'readme-'))}`))
      await runTs(file)
    })
  }
  it('the opening examples come first, name the dataset the tests publish and print what they say', async () => {
    assert.equal(numberOf('await openDataset('), 1)
    assert.equal(numberOf('await openZarrRoot('), 2)
    for (const block of blocks.slice(0, 2))
      assert.ok(block.includes(published), `README's opening examples should read ${published}`)
    // The point nearest 45.2°N 5.1°E (latitude stored north to south) over July: both days, CF-decoded.
    const csv = await runTs(`${repo}/.cache/readme/block-1.ts`)
    assert.equal(
      csv.trim(),
      'time,latitude,longitude,t2m\n2024-07-01T00:00:00,45,5,293\n2024-07-02T00:00:00,45,5,299',
    )
    const out = await runTs(`${repo}/.cache/readme/block-2.ts`)
    assert.match(out, /^\[ 2, 3 \] Float32Array\(3\) \[ 280\.5, 281, 281\.5 \]$/m)
  })
  it('the HAMT example prints what its comments say', async () => {
    const out = await runTs(`${repo}/.cache/readme/block-${numberOf("map.delete('humidity')")}.ts`)
    assert.match(out, /\{ unit: 'K', values: \[ 280\.5, 281\.2 \] \}\nundefined\n/)
    assert.match(out, /nothing to delete/)
  })
})

/**
 * The dataset the README's opening examples read, written to the daemon (the same content, the same
 * root): CF coordinates (time in days since a date, latitude north to south) for `openDataset`, and
 * `temperature` for the zarrita example.
 */
async function publishExampleDataset(daemon: { rpcUrl: string; gatewayUrl: string }): Promise<string> {
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), {
    attributes: { title: 'ts-hamt README example' },
  })
  const put = async (
    name: string,
    dtype: 'int32' | 'float32',
    dims: string[],
    attributes: Record<string, unknown>,
    data: Int32Array | Float32Array,
    shape: number[],
  ) => {
    const array = await zarr.create(group.resolve(name), {
      shape,
      // One time step a chunk for the data variables; coordinates whole.
      chunkShape: shape.map((size, i) => (i === 0 && shape.length > 1 ? 1 : size)),
      dtype,
      dimensionNames: dims,
      attributes,
    })
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    await zarr.set(array, null, { data, shape, stride } as never)
  }
  const days = { units: 'days since 2024-07-01', calendar: 'standard' }
  await put('time', 'int32', ['time'], days, Int32Array.of(0, 1), [2])
  await put('latitude', 'float32', ['latitude'], { units: 'degrees_north' }, Float32Array.of(46, 45), [2])
  await put('longitude', 'float32', ['longitude'], { units: 'degrees_east' }, Float32Array.of(5, 6, 7), [3])
  const temperature = Float32Array.of(280.5, 281, 281.5, 279, 279.5, 280)
  await put('temperature', 'float32', ['time', 'longitude'], { units: 'K' }, temperature, [2, 3])
  const t2m = Float32Array.from({ length: 12 }, (_, i) => 290 + i)
  await put('t2m', 'float32', ['time', 'latitude', 'longitude'], { units: 'K' }, t2m, [2, 2, 3])
  return String(await map.flush())
}

describe('README shell examples', () => {
  it('the ts-hamt command-line session runs as written, with the built binary on PATH', async () => {
    await ensureCliBuilt()
    const readme = await readFile(`${repo}/README.md`, 'utf8')
    const scripts = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1] as string)
    assert.ok(scripts.length >= 1)
    const dir = await mkdtemp(join(tmpdir(), 'readme-cli-'))
    try {
      await mkdir(join(dir, 'bin'))
      await writeFile(join(dir, 'bin/ts-hamt'), `#!/bin/sh\nexec node ${cliBinary} "$@"\n`, { mode: 0o755 })
      for (const script of scripts) {
        const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
          cwd: dir,
          timeout: 120_000,
          env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, TS_HAMT_STORE: '' },
        })
        assert.match(stdout, /\{"lat":59\.9,"lon":10\.7\}/)
        assert.match(stdout, /^ok: \d+ blocks/m)
        assert.match(stdout, /^hello$/m, 'the imported copy answers')
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('examples', () => {
  it('examples/demo.ts writes a Zarr dataset to the on-disk store and reads it back by root CID', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ts-hamt-demo-'))
    try {
      const { stdout: out } = await run('node', ['--import', 'tsx', 'examples/demo.ts', directory], {
        cwd: repo,
        timeout: 120_000,
      })
      const root = /^root (bafy\w+)$/m.exec(out)?.[1]
      assert.ok(root, out)
      assert.match(out, /^air_temperature: float32 30 × 18 × 36, chunks 10 × 18 × 36, K$/m)
      assert.match(
        out,
        /^air_temperature on day 15, 35\.\.55°N × 5°W\.\.25°E \(K\):\n( {2}(\d+\.\d ){3}\d+\.\d\n){3}/m,
      )
      // The same content gives the same root: a second run into a fresh directory agrees.
      const again = await mkdtemp(join(tmpdir(), 'ts-hamt-demo-'))
      const second = await run('node', ['--import', 'tsx', 'examples/demo.ts', again], {
        cwd: repo,
        timeout: 120_000,
      })
      await rm(again, { recursive: true, force: true })
      assert.match(second.stdout, new RegExp(`^root ${root}$`, 'm'))
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
