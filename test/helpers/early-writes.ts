// The disk-early tests' shared parts: another process's collection (gc-child), a map whose values
// each fill a 1 KiB write buffer, how many of its entries a root still reads, a fresh directory, a map
// collected in a child process while its store lives.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { promisify } from 'node:util'
import { loadBlake3 } from '../../src/blocks.js'
import { exportCar, HAMT, type StoreId } from '../../src/index.js'
import { DiskStore } from '../../src/node/index.js'
import { mulberry32 } from './random.js'

/** Another process's collection keeping `root` (gc-child, never killing itself): what it removed, or its refusal. */
export async function collectElsewhere(
  directory: string,
  root: StoreId,
): Promise<{ removed: number } | { refused: string }> {
  const args = [
    '--import',
    'tsx',
    'test/helpers/gc-child.ts',
    directory,
    String(root),
    'delete',
    '1000000000',
  ]
  try {
    const { stdout } = await promisify(execFile)(process.execPath, args)
    return JSON.parse(stdout) as { removed: number }
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr)
    if (/ERR_STORE|is writing to it/.test(stderr)) return { refused: stderr }
    throw error
  }
}

/** `count` seeded entries whose values (over 1 KiB) each fill a 1 KiB write buffer alone. */
export function bigEntries(seed: number, prefix: string, count: number): [string, string][] {
  const random = mulberry32(seed)
  return Array.from({ length: count }, (_, i) => [`${prefix} ${i}`, `${random().toString(36)} `.repeat(120)])
}

/** How many of `entries` the map at `root` in `directory` no longer reads back. */
export async function missingEntries(
  directory: string,
  root: StoreId,
  entries: [string, string][],
): Promise<number> {
  const reader = await HAMT.open<string>(root, { store: await DiskStore.open(directory), readOnly: true })
  let missing = 0
  for (const [key, value] of entries) if ((await reader.get(key).catch(() => undefined)) !== value) missing++
  return missing
}

/** A fresh temporary directory named `ts-hamt-<name>-*`, removed after the test (BLAKE3 loaded for its stores). */
export async function freshDirectory(t: TestContext, name: string): Promise<string> {
  await loadBlake3()
  const directory = await mkdtemp(join(tmpdir(), `ts-hamt-${name}-`))
  t.after(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** The CAR, in the pieces `exportCar` yields, of a map of `entries` made in a fresh directory. */
export async function mapCar(t: TestContext, entries: [string, string][]): Promise<Uint8Array[]> {
  const source = await DiskStore.open(await freshDirectory(t, 'car'))
  const made = await HAMT.fromEntries<string>(entries, { store: source })
  const parts: Uint8Array[] = []
  for await (const part of exportCar(source, made.rootId as StoreId)) parts.push(part)
  return parts
}

/** Markers in a directory before and after a map was collected (and whether it was), and after `after`. */
export interface DroppedMapMarkers {
  before: number
  collected: boolean
  after: number
  flushed: number
}

/**
 * In a child process with --expose-gc: a store of `directory` (1 KiB write buffer) stays in `kept`;
 * `setup` runs, then `drop` with a map (`map`) that lives only while it runs; the map is collected,
 * then `after` runs (a flush). `imports` and `setup` may declare what the others use.
 */
export async function mapDroppedInChild(
  directory: string,
  parts: { imports?: string; setup?: string; drop: string; after: string },
): Promise<DroppedMapMarkers> {
  const script = `
    import { readdirSync } from 'node:fs'
    import { setTimeout as sleep } from 'node:timers/promises'
    import { HAMT } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)}
    import { DiskStore } from ${JSON.stringify(new URL('../../src/node/index.ts', import.meta.url).href)}
    ${parts.imports ?? ''}
    const markers = () => readdirSync(${JSON.stringify(directory)}).filter((name) => name.startsWith('.ts-hamt-writing-')).length
    let collected = false
    const gone = new FinalizationRegistry(() => { collected = true })
    const kept = await DiskStore.open(${JSON.stringify(directory)}, { writeBufferBytes: 1024 })
    ${parts.setup ?? ''}
    async function dropping() {
      const map = await HAMT.create({ store: kept })
      gone.register(map, undefined)
      ${parts.drop}
    }
    await dropping()
    await sleep(20)
    const before = markers()
    for (let i = 0; i < 50 && (markers() > 0 || !collected); i++) {
      globalThis.gc()
      await sleep(10)
    }
    const after = markers()
    ${parts.after}
    await sleep(20)
    process.stdout.write(JSON.stringify({ before, collected, after, flushed: markers() }))
  `
  const args = ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script]
  return JSON.parse((await promisify(execFile)(process.execPath, args)).stdout) as DroppedMapMarkers
}

/** A stream of a CAR's `parts` (no check pass) that yields its first half, then waits until `resume` is called. */
export function pausedHalfway(parts: Uint8Array[]): {
  stream: AsyncGenerator<Uint8Array>
  resume: () => void
} {
  let resume = () => {}
  const paused = new Promise<void>((resolve) => {
    resume = resolve
  })
  const half = Math.floor(parts.length / 2)
  async function* stream() {
    yield* parts.slice(0, half)
    await paused
    yield* parts.slice(half)
  }
  return { stream: stream(), resume }
}
