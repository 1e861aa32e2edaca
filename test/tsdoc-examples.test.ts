// Every ```ts block inside an `@example` of a TSDoc comment in src/ type-checks, as a user would
// write it. The convention an example may rely on, without writing it out:
// - every name a package entry point ('ts-hamt', 'ts-hamt/node', …) exports, and the names its own
//   file exports (the thing it documents), as if imported;
// - `zarr` (zarrita), `CID` (multiformats), `dagCbor` (@ipld/dag-cbor);
// - the values in GIVEN below (`store`, `map`, `root`, …), as if made earlier.
// Names an example imports or declares itself win. Imports of 'ts-hamt…' are mapped to src/.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const repo = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)
const tscBinary = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')

/** Values an example may use as if made earlier in the user's program. */
const GIVEN = `
declare const store: BlockstoreStore
declare const map: HAMT<Uint8Array>
declare const root: CID
declare const rootCid: CID
declare const hamtRoot: CID
declare const carBytes: Uint8Array
declare const rpcUrl: string
declare const gatewayUrl: string
`
const LIBRARIES = [
  { name: 'zarr', line: "import * as zarr from 'zarrita'" },
  { name: 'CID', line: "import { CID } from 'multiformats/cid'" },
  { name: 'dagCbor', line: "import * as dagCbor from '@ipld/dag-cbor'" },
]

interface Example {
  /** A file name for it: `cas__memory__1`. */
  name: string
  /** The file it stands in, from the repo: `src/cas/memory.ts`. */
  file: string
  /** The file's line of the example's first line (1-based). */
  sourceLine: number
  /** The line of the generated source that holds the example's first line (1-based). */
  firstLine: number
  /** The generated source, for a file in `dir`. */
  sourceFor(dir: string): string
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** The value names and type names a file exports (by its text: enough for how src/ writes them). */
function exportsOf(file: string): { values: Set<string>; types: Set<string> } {
  const text = readFileSync(file, 'utf8')
  const values = new Set<string>()
  const types = new Set<string>()
  for (const [, typeOnly, list] of text.matchAll(/^export\s+(type\s+)?\{([^}]*)\}/gm)) {
    for (const item of (list as string).split(',')) {
      const [, typeItem, name] = /^\s*(type\s+)?(?:[\w$]+\s+as\s+)?([\w$]+)\s*$/.exec(item) ?? []
      if (name !== undefined) (typeOnly || typeItem ? types : values).add(name)
    }
  }
  for (const [, name] of text.matchAll(
    /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let)\s+([\w$]+)/gm,
  )) {
    values.add(name as string)
  }
  for (const [, name] of text.matchAll(/^export\s+(?:declare\s+)?(?:interface|type)\s+([\w$]+)/gm)) {
    types.add(name as string)
  }
  return { values, types }
}

/** The package's entry points, from package.json's exports: specifier → source file. */
function entryPoints(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    name: string
    exports: Record<string, string | { import?: string }>
  }
  const entries = new Map<string, string>()
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const built = typeof target === 'string' ? target : target.import
    if (built === undefined || !built.endsWith('.js')) continue
    const source = join(repo, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))
    entries.set(subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, source)
  }
  return entries
}

/** Every ```ts block in an `@example` of a doc comment of `file`. */
function examplesOf(file: string): Array<{ code: string; line: number }> {
  const text = readFileSync(file, 'utf8')
  const found: Array<{ code: string; line: number }> = []
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const lines = comment[0].split('\n').map((line) => line.replace(/^\s*\*? ?/, ''))
    const commentLine = text.slice(0, comment.index).split('\n').length
    let inExample = false
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string
      if (/^@\w+/.test(line)) inExample = line.startsWith('@example')
      if (!inExample || line.trim() !== '```ts') continue
      const end = lines.findIndex((l, j) => j > i && l.trim().startsWith('```'))
      assert.ok(
        end > i,
        `${relative(repo, file)}:${commentLine + i}: an @example's \`\`\`ts block is not closed`,
      )
      found.push({ code: lines.slice(i + 1, end).join('\n'), line: commentLine + i + 1 })
      i = end
    }
  }
  return found
}

/** The file a user would write for an example: imports, then the given values, then the code. */
function programOf(
  code: string,
  ownFile: string,
  entries: Map<string, string>,
  dir: string,
): { source: string; firstLine: number } {
  const importPattern = /^import\s[\s\S]*?\sfrom\s+'([^']+)'[ \t]*;?[ \t]*$/gm
  const imports = [...code.matchAll(importPattern)].map((m) => m[0].trim())
  // An import leaves its lines blank, so errors keep the example's line numbers.
  const body = code.replace(importPattern, (line) => '\n'.repeat(line.split('\n').length - 1))
  const fromDir = (file: string): string => relative(dir, file).replace(/\.ts$/, '.js')
  const mapped = imports.map((line) =>
    line.replace(/'([^']+)'/, (quoted, specifier: string) => {
      const entry = entries.get(specifier)
      return entry === undefined ? quoted : `'${fromDir(entry)}'`
    }),
  )
  // Names the example binds itself (its imports) are not given again.
  const bound = new Set(
    imports.flatMap((line) => [...line.matchAll(/\b([A-Za-z_$][\w$]*)\b/g)].map((m) => m[1])),
  )
  const preamble: string[] = []
  const taken = new Set<string>()
  for (const file of [...entries.values(), ownFile]) {
    const { values, types } = exportsOf(file)
    const names = [
      ...[...values].filter((n) => !bound.has(n) && !taken.has(n)),
      ...[...types].filter((n) => !bound.has(n) && !taken.has(n)).map((n) => `type ${n}`),
    ]
    for (const n of [...values, ...types]) taken.add(n)
    if (names.length > 0) preamble.push(`import { ${names.join(', ')} } from '${fromDir(file)}'`)
  }
  for (const library of LIBRARIES) {
    if (!bound.has(library.name) && !taken.has(library.name)) preamble.push(library.line)
  }
  const head = [...mapped, ...preamble, GIVEN, 'export async function example(): Promise<void> {']
  const headText = head.join('\n')
  return { source: `${headText}\n${body}\n}\n`, firstLine: headText.split('\n').length + 1 }
}

function collect(): Example[] {
  const entries = entryPoints()
  const examples: Example[] = []
  for (const file of sourceFiles(join(repo, 'src'))) {
    for (const [index, example] of examplesOf(file).entries()) {
      const name = `${relative(join(repo, 'src'), file).replaceAll('/', '__').replace(/\.ts$/, '')}__${index + 1}`
      const { firstLine } = programOf(example.code, file, entries, repo)
      examples.push({
        name,
        file: relative(repo, file),
        sourceLine: example.line,
        firstLine,
        sourceFor: (dir) => programOf(example.code, file, entries, dir).source,
      })
    }
  }
  return examples
}

/**
 * Type-checks the examples with one run of the project's `tsc` (its options, but unused names
 * allowed: the preamble gives more than an example uses); returns the errors, each named by its
 * place in src/. The files go in a fresh folder inside the repo so packages resolve as in src/.
 */
async function checkExamples(examples: Example[]): Promise<string[]> {
  await mkdir(join(repo, 'test-artifacts'), { recursive: true })
  const dir = await mkdtemp(join(repo, 'test-artifacts', 'tsdoc-'))
  try {
    const byName = new Map<string, Example>()
    for (const example of examples) {
      const name = `${example.name}.ts`
      byName.set(name, example)
      await writeFile(join(dir, name), example.sourceFor(dir))
    }
    const config = {
      extends: join(repo, 'tsconfig.json'),
      compilerOptions: {
        rootDir: repo,
        noEmit: true,
        noUnusedLocals: false,
        verbatimModuleSyntax: false,
        declaration: false,
      },
      include: [...byName.keys()],
    }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(config))
    const result = await run(
      process.execPath,
      [tscBinary, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
      {
        cwd: dir,
        timeout: 60_000,
      },
    ).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      if (typeof error.stdout !== 'string' || error.code === undefined) throw error
      return { stdout: error.stdout, stderr: error.stderr ?? '' }
    })
    const errors: string[] = []
    for (const line of `${result.stdout}\n${result.stderr}`.split('\n')) {
      if (line.trim() === '') continue
      const m = /^(?:.*\/)?([^/(]+\.ts)\((\d+),\d+\): (.*)$/.exec(line)
      const example = m ? byName.get(m[1] as string) : undefined
      if (m === null || example === undefined) {
        errors.push(line) // an error outside the examples (or continued lines) still fails the check
        continue
      }
      const at = Number(m[2])
      const place =
        at >= example.firstLine
          ? `${example.file}:${example.sourceLine + at - example.firstLine}`
          : `${example.file}:${example.sourceLine} (preamble line ${at})`
      errors.push(`${place}: ${m[3]}`)
    }
    return errors
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('TSDoc @example blocks', () => {
  const examples = collect()
  it('there are examples to check, from many files', () => {
    assert.ok(examples.length >= 15, `found ${examples.length}`)
    assert.ok(new Set(examples.map((e) => e.file)).size >= 10)
  })
  it('every example type-checks as a user would write it', async () => {
    const errors = await checkExamples(examples)
    assert.deepEqual(errors, [], `examples that do not type-check:\n${errors.join('\n')}`)
  })
  it('a broken example is caught, named by its place in src/', async () => {
    const good = examples.find((e) => e.file === 'src/cas/memory.ts')
    assert.ok(good)
    const broken: Example = {
      ...good,
      sourceFor: (dir) => {
        const lines = good.sourceFor(dir).split('\n')
        lines[good.firstLine] = 'const map = await HAMT.make({ store })' // the example's second line
        return lines.join('\n')
      },
    }
    const errors = await checkExamples([broken])
    assert.equal(errors.length, 1, errors.join('\n'))
    assert.match(errors[0] as string, new RegExp(`^src/cas/memory\\.ts:${good.sourceLine + 1}: .*'make'`))
  })
})
