// The README's ```ts blocks typecheck as a user's strict project would check them: test/docs.test.ts
// runs them through tsx, which strips types unchecked, so a block could run and still not compile.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))

describe('README code blocks', () => {
  it('typecheck under strict, against the entry points they import', async () => {
    const manifest = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'))
    const exportsMap = manifest.exports as Record<string, string | { types?: string }>
    const sourceOf = (specifier: string): string => {
      const target = exportsMap[specifier === 'ts-hamt' ? '.' : `.${specifier.slice('ts-hamt'.length)}`]
      const types = typeof target === 'string' ? target : target?.types
      assert.ok(types !== undefined, `${specifier} is an entry point in package.json's exports`)
      return join(repo, types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'))
    }
    const readme = await readFile(join(repo, 'README.md'), 'utf8')
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string)
    assert.ok(blocks.length >= 3)
    // Inside the repo (gitignored .cache), so that zarrita and the other packages resolve.
    const dir = await mkdtemp(join(repo, '.cache', 'readme-types-'))
    try {
      for (const [index, block] of blocks.entries()) {
        const source = block.replace(/from '(ts-hamt(?:\/[\w-]+)?)'/g, (_, specifier: string) => {
          return `from '${sourceOf(specifier).replace(/\.ts$/, '.js')}'`
        })
        await writeFile(join(dir, `block-${index + 1}.ts`), `${source}\nexport {}\n`)
      }
      const config = {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2024', 'DOM'],
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['*.ts'],
      }
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(config))
      const tsc = join(repo, 'node_modules', '.bin', 'tsc')
      const result = await run(tsc, ['-p', join(dir, 'tsconfig.json')], { cwd: dir, timeout: 120_000 }).then(
        () => '',
        (error: { stdout?: string; message: string }) => error.stdout || error.message,
      )
      assert.equal(result, '', `README blocks do not typecheck:\n${result}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
