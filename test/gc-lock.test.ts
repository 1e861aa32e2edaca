// The DiskStore's collector lock between real processes: several processes that start a collection
// at one moment over a dead collector's lock take it over one at a time (at most one collects), and a
// dead collector's lock whose pid now names another process keeps no writer out. Rounds, delays and
// lock kinds come from a printed seed (replay with TS_HAMT_SEED).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { collectGarbage, loadBlake3 } from '../src/blocks.js'
import { HAMT, isHamtError } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import { processStart } from '../src/util/partial-files.js'
import { untouched } from './helpers/disk-markers.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const CHILDREN = 4
const ROUNDS = 30
const LOCK = '.ts-hamt-gc'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-gc-lock-'))
after(() => rm(scratch, { recursive: true, force: true }))

async function storeWithRoot(name: string): Promise<{ store: DiskStore; root: CID }> {
  const store = await DiskStore.open(join(scratch, name))
  const map = await HAMT.create<number>({ store })
  for (let i = 0; i < 50; i++) await map.set(`k${i}`, i)
  return { store, root: (await map.flush()) as CID }
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

interface Child {
  process: ChildProcess
  next(): Promise<{ outcome?: string; message?: string; ready?: true }>
  send(message: object): void
}

function startChild(directory: string, root: CID): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/gc-lock-child.ts', directory, root.toString()],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const queue: string[] = []
  const waiting: ((line: string) => void)[] = []
  lines.on('line', (line) => {
    const waiter = waiting.shift()
    if (waiter) waiter(line)
    else queue.push(line)
  })
  return {
    process: child,
    next: async () => {
      const line = queue.shift() ?? (await new Promise<string>((resolve) => waiting.push(resolve)))
      return JSON.parse(line)
    },
    send: (message) => void child.stdin?.write(`${JSON.stringify(message)}\n`),
  }
}

describe('the collector lock between processes', () => {
  it(`${CHILDREN} processes starting a collection at once over a dead collector's lock: at most one collects, ${ROUNDS} rounds`, async () => {
    const { root } = await storeWithRoot('race')
    const directory = join(scratch, 'race')
    const children = Array.from({ length: CHILDREN }, () => startChild(directory, root))
    after(() => {
      for (const child of children) child.process.kill('SIGKILL')
    })
    for (const child of children) assert.deepEqual(await child.next(), { ready: true })
    const next = mulberry32(seed)
    const dead = await deadPid()
    // A dead collector's lock as an older version wrote it (no pid space), as an older one did (a bare pid), one whose
    // pid is alive but names a process started later (this one), and nonsense.
    const kinds = [
      `${dead} 12345 0123456789abcdef\n`,
      String(dead),
      `${process.pid} 1 fedcba9876543210\n`,
      'x',
    ]
    for (let round = 0; round < ROUNDS; round++) {
      const stale = kinds[Math.floor(next() * kinds.length)] as string
      await writeFile(join(directory, LOCK), stale)
      await untouched(join(directory, LOCK))
      const where = `round ${round}, lock ${JSON.stringify(stale)} (seed ${seed})`
      const delays = children.map(() => next() * 2)
      for (const [i, child] of children.entries()) child.send({ go: delays[i] })
      const outcomes = await Promise.all(children.map((child) => child.next()))
      for (const { outcome, message } of outcomes) {
        assert.ok(outcome === 'collecting' || outcome === 'refused', `${where}: ${outcome} ${message}`)
        if (outcome === 'refused') assert.match(message as string, /is collecting garbage in it/, where)
      }
      const collecting = outcomes.flatMap(({ outcome }, i) => (outcome === 'collecting' ? [i] : []))
      assert.equal(collecting.length, 1, `${where}: children ${collecting} collected at once`)
      const winner = children[collecting[0] as number] as Child
      winner.send({ release: true })
      assert.equal((await winner.next()).outcome, 'done', where)
      // Nothing of the takeover stays: no lock, no claims, no staging files.
      assert.deepEqual(
        (await readdir(directory)).filter((name) => name.startsWith(LOCK)),
        [],
        where,
      )
    }
    for (const child of children) child.process.stdin?.end()
  })

  it("a killed collector's lock whose pid now names another live process keeps no flush out", async () => {
    const { store, root } = await storeWithRoot('reused')
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/gc-child.ts', store.directory, root.toString(), 'read', '1'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
    const signal = await new Promise((resolve) => child.once('exit', (_, signal) => resolve(signal)))
    assert.equal(signal, 'SIGKILL')
    const lock = join(store.directory, LOCK)
    const left = await readFile(lock, 'utf8')
    assert.ok(left.startsWith(String(child.pid)), `the killed collector's lock: ${left}`)
    // Its pid handed to another process: a live sleeper's pid in the same lock.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' })
    after(() => sleeper.kill('SIGKILL'))
    await writeFile(lock, left.replace(String(child.pid), String(sleeper.pid)))
    const map = await HAMT.open<number>(root, { store, readOnly: false })
    await map.set('after', 1)
    const newer = (await map.flush()) as CID
    assert.equal(await (await HAMT.open<number>(newer, { store })).get('after'), 1)

    // The same lock naming the sleeper as it is (its own start time) does keep writers out.
    const live = await DiskStore.open(join(scratch, 'live'))
    const liveMap = await HAMT.create<number>({ store: live })
    await liveMap.set('a', 1)
    const start = await processStart(sleeper.pid as number)
    await writeFile(join(live.directory, LOCK), `${sleeper.pid} ${start ?? '-'} 00\n`)
    await assert.rejects(liveMap.flush(), (error: unknown) => {
      assert.ok(isHamtError(error) && error.code === 'ERR_STORE')
      assert.match(error.message, new RegExp(`process ${sleeper.pid} is collecting garbage`))
      return true
    })
  })

  it('a taker killed mid-takeover (its claim left) is passed over and its files removed; two stores of one process collecting at once: one runs', async () => {
    const { store, root } = await storeWithRoot('claims')
    const dead = await deadPid()
    const stale = `${dead} 7 aaaaaaaaaaaaaaaa\n`
    await writeFile(join(store.directory, LOCK), stale)
    await untouched(join(store.directory, LOCK))
    // The claim a taker makes on this lock before replacing it (disk-lock.ts), its maker dead.
    const claim = `${LOCK}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}-1`
    await writeFile(join(store.directory, claim), `${dead} 8 bbbbbbbbbbbbbbbb\n`)
    await untouched(join(store.directory, claim))
    // And the staging file of a taker killed before it claimed anything.
    await writeFile(join(store.directory, `${LOCK}.new-cccccccccccccccc`), `${dead} 9 cccccccccccccccc\n`)
    await untouched(join(store.directory, `${LOCK}.new-cccccccccccccccc`))
    const second = await DiskStore.open(store.directory)
    const outcomes = await Promise.allSettled([
      collectGarbage(store, { keep: [root], dryRun: true }),
      collectGarbage(second, { keep: [root], dryRun: true }),
    ])
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
    const refused = outcomes.find((o) => o.status === 'rejected')
    // Refused by the store's collection (shared by every store on the directory) or by the lock.
    assert.match(
      String(refused?.reason),
      /collecting garbage in it already|a garbage collection is already running/,
    )
    assert.deepEqual(
      (await readdir(store.directory)).filter((name) => name.startsWith(LOCK)),
      [],
    )
  })
})
