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
      const source = block
        .replaceAll("from 'ts-hamt/node'", `from '${repo}/src/node/index.ts'`)
        // What Node resolves ts-hamt/zstd to (the exports map's `node` condition).
        .replaceAll("from 'ts-hamt/zstd'", `from '${repo}/src/zstd/node.ts'`)
        .replaceAll("from 'ts-hamt'", `from '${repo}/src/index.ts'`)
      // Blocks that write to a directory of their own write under a fresh temporary one.
      await writeFile(file, source.replaceAll("'./my-maps", `'${await mkdtemp(join(tmpdir(), 'readme-'))}`))
      await runTs(file)
    })
  }
  it('the opening example is the first block, names the dataset the tests publish and prints what it says', async () => {
    assert.equal(numberOf('await openZarrRoot('), 1)
    assert.ok(blocks[0]?.includes(published), `README's opening example should read ${published}`)
    const out = await runTs(`${repo}/.cache/readme/block-1.ts`)
    assert.match(out, /^\[ 2, 3 \] Float32Array\(3\) \[ 280\.5, 281, 281\.5 \]$/m)
  })
  it('the HAMT example prints what its comments say', async () => {
    const out = await runTs(`${repo}/.cache/readme/block-${numberOf("map.delete('humidity')")}.ts`)
    assert.match(out, /\{ unit: 'K', values: \[ 280\.5, 281\.2 \] \}\nundefined\n/)
    assert.match(out, /nothing to delete/)
  })
})

/** The dataset README's opening example reads, written to the daemon (the same content, the same root). */
async function publishExampleDataset(daemon: { rpcUrl: string; gatewayUrl: string }): Promise<string> {
  const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl })
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)))
  const temperature = await zarr.create(group.resolve('temperature'), {
    shape: [2, 3],
    chunkShape: [1, 3],
    dtype: 'float32',
  })
  const data = Float32Array.of(280.5, 281, 281.5, 279, 279.5, 280)
  await zarr.set(temperature, null, { data, shape: [2, 3], stride: [3, 1] })
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
