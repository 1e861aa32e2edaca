// Docs are executable: every ```ts block of README.md and every example runs here, as a user would
// run it (imports of 'ts-hamt' point at the source).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
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
  const readme = (await readFile(`${repo}/README.md`, 'utf8'))
    .replaceAll('http://127.0.0.1:5001', daemon.rpcUrl)
    .replaceAll('http://127.0.0.1:8080', daemon.gatewayUrl)
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  it('has code blocks to check', () => assert.ok(blocks.length >= 3))
  await mkdir(`${repo}/.cache/readme`, { recursive: true })
  for (const [index, block] of blocks.entries()) {
    it(`block ${index + 1} runs`, async () => {
      const file = `${repo}/.cache/readme/block-${index + 1}.ts`
      const source = block
        .replaceAll("from 'ts-hamt/node'", `from '${repo}/src/node/index.ts'`)
        .replaceAll("from 'ts-hamt'", `from '${repo}/src/index.ts'`)
      await writeFile(file, source)
      await runTs(file)
    })
  }
  it('the first block prints what its comments say', async () => {
    const out = await runTs(`${repo}/.cache/readme/block-1.ts`)
    assert.match(out, /\{ unit: 'K', values: \[ 280\.5, 281\.2 \] \}\nundefined\n/)
    assert.match(out, /nothing to delete/)
  })
})

describe('examples', () => {
  it('examples/demo.ts writes, reopens and reads back the station readings', async () => {
    const out = await runTs(`${repo}/examples/demo.ts`)
    assert.match(out, /^wrote 1095 readings; root 1e20[0-9a-f]{64}$/m)
    assert.match(out, /^Oslo on 2025-07-01: max -?\d+(\.\d)? °C/m)
  })
})
