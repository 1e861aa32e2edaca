// Layers import only downward (ARCHITECTURE.md). Each module of src/ belongs to a layer; a relative
// import must stay in its own folder or go to a strictly lower layer, and no chain of imports may
// come back to where it started. A new folder must be placed in LAYERS before it can be imported.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const src = fileURLToPath(new URL('../src', import.meta.url))

/** Lowest first. Modules in one entry are peers and may not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['codec'],
  ['errors.ts'],
  ['check.ts'],
  ['hash'],
  ['telemetry'],
  ['cas'],
  ['hamt', 'car'],
  ['zarr'],
  ['sharded'],
  ['dataset', 'zstd'],
  ['node', 'index.ts', 'blocks.ts', 'layout.ts', 'dataset.ts'],
  ['index.node.ts', 'dataset.node.ts', 'cli'],
]

/** Imports that break the rule today, each with the issue that removes it. None are left. */
const KNOWN_UPWARD = new Set<string>()

/** The folder (or top-level file) a module belongs to. */
function unitOf(path: string): string {
  const first = path.split('/')[0] as string
  return path.includes('/') ? first : path
}

function layerOf(path: string): number {
  const unit = unitOf(path)
  const layer = LAYERS.findIndex((units) => units.includes(unit))
  assert.ok(layer >= 0, `src/${path} is in no layer: add ${unit} to LAYERS and ARCHITECTURE.md`)
  return layer
}

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return modules(path)
    return entry.name.endsWith('.ts') ? [relative(src, path)] : []
  })
}

interface Import {
  readonly path: string
  /** `import type` / `export type`: erased when compiled, so it cannot take part in a load cycle. */
  readonly typeOnly: boolean
}

/** Relative imports of a module (static, re-exports and dynamic), as paths under src/. */
function importsOf(path: string): Import[] {
  const text = readFileSync(join(src, path), 'utf8')
  const pattern =
    /(?:^(import|export)\s+(type\s+)?[\w\s{},*$]*?\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm
  return [...text.matchAll(pattern)].map((match) => ({
    path: relative(src, resolve(dirname(join(src, path)), (match[3] as string).replace(/\.js$/, '.ts'))),
    typeOnly: match[2] !== undefined,
  }))
}

describe('architecture', () => {
  const imports = new Map(modules(src).map((path) => [path, importsOf(path)]))
  const graph = new Map([...imports].map(([path, list]) => [path, list.map((i) => i.path)]))
  const runtimeGraph = new Map(
    [...imports].map(([path, list]) => [path, list.filter((i) => !i.typeOnly).map((i) => i.path)]),
  )

  it('finds the modules and their imports (so the checks below can fail)', () => {
    assert.ok(graph.size > 50, `only ${graph.size} modules found under src/`)
    assert.ok(graph.get('hamt/hamt.ts')?.includes('errors.ts'))
  })

  it('every import stays in its folder or goes to a lower layer', () => {
    const upward: string[] = []
    for (const [from, targets] of graph) {
      for (const to of targets) {
        assert.ok(graph.has(to), `src/${from} imports src/${to}, which does not exist`)
        if (unitOf(from) === unitOf(to)) continue
        if (layerOf(to) < layerOf(from)) continue
        const edge = `${from} -> ${to}`
        if (!KNOWN_UPWARD.has(edge)) upward.push(edge)
      }
    }
    assert.deepEqual(upward, [], 'imports that go sideways or upward')
  })

  it('the known exceptions still exist (remove them here when they are fixed)', () => {
    for (const edge of KNOWN_UPWARD) {
      const [from, to] = edge.split(' -> ') as [string, string]
      assert.ok(graph.get(from)?.includes(to), `${edge} is gone: drop it from KNOWN_UPWARD`)
    }
  })

  it('no module loads itself through a chain of runtime imports', () => {
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const cycles: string[] = []
    const visit = (path: string): void => {
      state.set(path, 'open')
      stack.push(path)
      for (const next of runtimeGraph.get(path) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '))
        else if (!state.has(next)) visit(next)
      }
      stack.pop()
      state.set(path, 'done')
    }
    for (const path of runtimeGraph.keys()) if (!state.has(path)) visit(path)
    assert.deepEqual(cycles, [])
  })
})
