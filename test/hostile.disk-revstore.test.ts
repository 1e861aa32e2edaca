// An outsider's review of DiskStore's writer markers (pid, start, token, read since this session) and
// the collector lock in odd states: a stranger's directory may hold a FIFO, a huge file, a device or
// a folder where a marker or the lock should be. Opening and collecting must neither wait for ever
// nor read without bound.
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { constants } from 'node:fs'
import { mkdir, mkdtemp, open, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { collectGarbage } from '../src/blocks.js'
import { DiskStore } from '../src/node/index.js'
import { processStart } from '../src/util/partial-files.js'
import { storeWithLeftover } from './helpers/disk-leftover.js'
import { untouched } from './helpers/disk-markers.js'
import { withinBudget } from './helpers/hostile.js'

const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-disk-revstore-'))
after(() => rm(scratch, { recursive: true, force: true }))
const linux = (await processStart(process.pid)) !== undefined
const deadPid = (
  await promisify(execFile)(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
).stdout

/** Lets a reader stuck opening the FIFO at `path` go (it reads an empty file), so the test can end. */
async function unblockFifo(path: string): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined)
  await handle?.close()
}

type Odd = 'fifo' | 'huge' | 'dev-zero' | 'directory' | 'garbage'

async function makeOdd(path: string, odd: Odd): Promise<void> {
  if (odd === 'fifo') execFileSync('mkfifo', [path])
  else if (odd === 'huge') {
    await writeFile(path, `${deadPid} - 0123456789abcdef\n`)
    await truncate(path, 256 << 20) // sparse: no disk, but 256 MiB to whoever reads it whole
  } else if (odd === 'dev-zero') await symlink('/dev/zero', path)
  else if (odd === 'directory') await mkdir(path)
  else await writeFile(path, Buffer.from([0xff, 0xfe, 0, 0x80, 10, 0x20]))
}

const odds: Odd[] = ['fifo', 'huge', 'dev-zero', 'directory', 'garbage']

describe('a writer marker that is not a small text file', {
  skip: !linux && 'no mkfifo, no /dev/zero',
}, () => {
  for (const odd of odds) {
    it(`a dead writer's marker that is ${odd}: open cleans up within budget, and collection runs`, async () => {
      const { directory, leftover } = await storeWithLeftover(join(scratch, `marker-${odd}`))
      const marker = join(directory, `.ts-hamt-writing-${deadPid}`)
      await makeOdd(marker, odd)
      await untouched(marker) // an older version's, its writer killed long ago
      try {
        const opened = await withinBudget(`open with a ${odd} marker`, () => DiskStore.open(directory))
        assert.ok(opened.error === undefined, String(opened.error))
        const store = opened.value as DiskStore
        // A folder by a marker's name is no marker (no writer made it): open neither fails nor cleans for it.
        const cleaned = !(await readdir(join(leftover, '..'))).includes('.CIQLEFTOVER.data.tmp')
        assert.equal(cleaned, odd !== 'directory')
        const collected = await withinBudget(`collect with a ${odd} marker`, () =>
          collectGarbage(store, { keep: [], all: true }),
        )
        assert.ok(collected.error === undefined, String(collected.error))
      } finally {
        if (odd === 'fifo') await unblockFifo(marker)
      }
    })
  }
})

describe('the collector lock file that is not a small text file', { skip: !linux && 'no mkfifo' }, () => {
  for (const odd of ['fifo', 'huge', 'garbage'] as const) {
    it(`a lock that is ${odd} names no live holder: collection takes it within budget`, async () => {
      const { directory } = await storeWithLeftover(join(scratch, `lock-${odd}`))
      const store = await DiskStore.open(directory)
      const lock = join(directory, '.ts-hamt-gc')
      await makeOdd(lock, odd)
      try {
        const collected = await withinBudget(`collect with a ${odd} lock`, () =>
          collectGarbage(store, { keep: [], all: true }),
        )
        assert.ok(collected.error === undefined, String(collected.error))
      } finally {
        if (odd === 'fifo') await unblockFifo(lock)
      }
    })
  }
})
