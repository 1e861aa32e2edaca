// The real `ts-hamt` binary (built into dist/ by `npm run build`, as the package ships it) against
// the on-disk store and a real Kubo daemon, error paths included.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { loadBlake3 } from '../src/blocks.js'
import { GRACE_MS } from '../src/cli/interrupt.js'
import { HAMT, KuboStore, ZarrHAMTStore } from '../src/index.js'
import { DiskStore } from '../src/node/index.js'
import {
  type CliProcess,
  cliRunners,
  ensureCliBuilt,
  type HoldingGateway,
  spawnCli,
  startHoldingGateway,
} from './helpers/cli.js'
import { writeClimate } from './helpers/climate.js'
import { startKubo } from './helpers/kubo.js'

await loadBlake3()
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-cli-'))
after(() => rm(scratch, { recursive: true, force: true }))

/** Runs the binary in `scratch` (so its default store is scratch/.ts-hamt): `cli` never throws, `ok` wants exit 0. */
const { cli, ok } = cliRunners(scratch)

before(ensureCliBuilt)

describe('ts-hamt CLI on the on-disk store', () => {
  it('creates a map, sets, gets, deletes and lists keys; roots change as the map does', async () => {
    const empty = await ok('create')
    assert.match(empty, /^bafyr4\w+$/)
    let root = await ok('set', empty, 'greeting', 'hello')
    root = await ok('set', root, 'answer', '42', '--type', 'number')
    root = await ok('set', root, 'record', '{"a":[1,2],"b":null}', '--type', 'json')
    assert.equal(await ok('get', root, 'greeting'), 'hello')
    assert.equal(await ok('get', root, 'answer'), '42')
    assert.deepEqual(JSON.parse(await ok('get', root, 'record', '--json')), {
      key: 'record',
      value: { a: [1, 2], b: null },
    })
    assert.deepEqual((await ok('keys', root)).split('\n').sort(), ['answer', 'greeting', 'record'])
    const deleted = await ok('delete', root, 'record')
    assert.deepEqual(JSON.parse(await ok('keys', deleted, '--json')), { keys: ['answer', 'greeting'] })
    // The same content gives the same root, whatever the history: set then delete = never set.
    assert.equal(
      deleted,
      await ok('set', await ok('set', empty, 'greeting', 'hello'), 'answer', '42', '--type', 'number'),
    )

    // The library opens what the CLI wrote.
    const map = await HAMT.open<unknown>(await import('multiformats/cid').then((m) => m.CID.parse(deleted)), {
      store: await DiskStore.open(join(scratch, '.ts-hamt')),
      readOnly: true,
    })
    assert.equal(await map.get('answer'), 42)
  })

  it('stores files as raw bytes and writes them back out', async () => {
    const file = join(scratch, 'blob.bin')
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 255)
    await writeFile(file, data)
    const root = await ok('set', await ok('create'), 'blob', '--file', file, '--raw')
    await ok('get', root, 'blob', '--raw', '--out', join(scratch, 'out.bin'))
    assert.deepEqual(new Uint8Array(await readFile(join(scratch, 'out.bin'))), data)
  })

  it('stats counts keys, nodes, depths and bucket fill', async () => {
    const store = join(scratch, 'stats-store')
    let root = await ok('create', '--store', store)
    const map = await HAMT.open<number>(await import('multiformats/cid').then((m) => m.CID.parse(root)), {
      store: await DiskStore.open(store),
      readOnly: false,
    })
    for (let i = 0; i < 3000; i++) await map.set(`k${i}`, i)
    root = String(await map.flush())
    const stats = JSON.parse(await ok('stats', root, '--store', store, '--json'))
    assert.equal(stats.keys, 3000)
    assert.equal(
      stats.keysAtDepth.reduce((a: number, b: number) => a + b, 0),
      3000,
    )
    assert.ok(stats.nodes > 1 && stats.keysAtDepth.length >= 2)
    assert.equal(
      stats.bucketFill.reduce((sum: number, n: number, size: number) => sum + n * size, 0),
      3000,
    )
    assert.ok(stats.bucketFill.length <= 5, 'no bucket above py-hamt’s default size 4')
    assert.match(await ok('stats', root, '--store', store), /^keys {8}3000$/m)
  })

  it('verify passes a sound map and names a corrupt and a missing block, exiting 1', async () => {
    const store = join(scratch, 'verify-store')
    let root = await ok('create', '--store', store)
    for (const key of ['a', 'b', 'c']) root = await ok('set', root, key, `value of ${key}`, '--store', store)
    assert.match(await ok('verify', root, '--store', store), /^ok: 4 blocks, \d+ bytes, 3 keys$/)

    const files = (await readdir(store, { recursive: true, withFileTypes: true })).filter((e) =>
      e.name.endsWith('.data'),
    )
    // Corrupt one value block (the smallest file is a value, the node is ~300 bytes), delete another.
    const sized = await Promise.all(
      files.map(async (f) => ({
        path: join(f.parentPath, f.name),
        size: (await readFile(join(f.parentPath, f.name))).length,
      })),
    )
    const values = sized.filter((f) => f.size < 50)
    assert.ok(values.length >= 2)
    const [corrupt, missing] = values as [(typeof values)[0], (typeof values)[0]]
    const bytes = await readFile(corrupt.path)
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
    await writeFile(corrupt.path, bytes)
    await unlink(missing.path)

    const run = await cli('verify', root, '--store', store, '--json')
    assert.equal(run.code, 1)
    const report = JSON.parse(run.stdout)
    assert.equal(report.ok, false)
    assert.equal(report.missing.length, 1)
    assert.equal(report.corrupt.length, 1)
    assert.match(report.corrupt[0].error, /does not match its CID/)
    const text = await cli('verify', root, '--store', store)
    assert.match(text.stdout, /^FAILED: /)
    assert.match(text.stdout, /^missing: bafk\w+$/m)
    assert.match(text.stdout, /^corrupt: bafk\w+: /m)
  })

  it("--version and -V print package.json's version and nothing else", async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
    assert.match(manifest.version, /^\d+\.\d+\.\d+/)
    for (const flag of ['--version', '-V']) {
      const run = await cli(flag)
      assert.deepEqual(run, { code: 0, stdout: `${manifest.version}\n`, stderr: '' }, flag)
    }
  })

  it('exits non-zero with a clear message on errors, and has --help for every command', async () => {
    const missing = await cli('get', 'bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fin2iiyvreuzzab4', 'k')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /is not in the disk store at .*\.ts-hamt \(ERR_BLOCK_NOT_FOUND\)/)
    const notCid = await cli('get', 'not-a-cid', 'k')
    assert.equal(notCid.code, 2)
    assert.match(notCid.stderr, /ROOT is not a CID: "not-a-cid"/)
    const unknownCommand = await cli('frobnicate')
    assert.equal(unknownCommand.code, 2)
    assert.match(unknownCommand.stderr, /unknown command "frobnicate"/)
    const badFlag = await cli('keys', 'x', '--bogus')
    assert.equal(badFlag.code, 2)
    assert.match(badFlag.stderr, /--bogus/)
    const json = await cli('get', 'not-a-cid', 'k', '--json')
    assert.deepEqual(JSON.parse(json.stderr).error.code, 'ERR_INVALID_ARGUMENT')
    const nothing = await cli()
    assert.equal(nothing.code, 2)
    assert.match(nothing.stdout, /^Usage: ts-hamt COMMAND/)
    for (const command of [
      'create',
      'set',
      'get',
      'delete',
      'keys',
      'stats',
      'verify',
      'export',
      'import',
      'zarr',
      'pin',
    ]) {
      const help = await ok(command, '--help')
      assert.match(help, new RegExp(`^Usage: ts-hamt ${command}`), command)
      assert.match(help, /--store DIR/)
    }
    // A read never creates a store: a mistyped --store is an error and leaves nothing behind.
    const typo = await cli(
      'get',
      'bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fin2iiyvreuzzab4',
      'k',
      '--store',
      'no-such-store',
    )
    assert.equal(typo.code, 1)
    assert.match(typo.stderr, /cannot open the disk store at no-such-store/)
    assert.equal(existsSync(join(scratch, 'no-such-store')), false)
    const missingFile = await cli(
      'set',
      'bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fin2iiyvreuzzab4',
      'k',
      '--file',
      'nope.bin',
    )
    assert.equal(missingFile.code, 1, 'a file that cannot be read is not a usage error')
    assert.match(missingFile.stderr, /cannot read --file nope\.bin: .*\(ERR_INVALID_ARGUMENT, ENOENT\)/)
    const badLimit = await cli('zarr', 'get', 'x', 'y', '--limit', 'abc')
    assert.equal(badLimit.code, 2)
    assert.match(badLimit.stderr, /--limit must be a positive integer, got "abc"/)
    const pins = await cli('pin', 'ls')
    assert.equal(pins.code, 2)
    assert.match(pins.stderr, /--kubo/)
  })
})

describe('ts-hamt CLI: signals, pipes and exit codes', () => {
  const storeDir = join(scratch, 'signals-store')
  let disk: DiskStore
  let root: string
  let zarrRoot: string
  let dirs = 0
  const freshDir = async (): Promise<string> => {
    const dir = join(scratch, `run-${dirs++}`)
    await mkdir(dir)
    return dir
  }
  const partials = async (dir: string): Promise<string[]> =>
    (await readdir(dir)).filter((name) => name.includes('.partial-'))
  const noStackTrace = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at |Error:/, stderr)

  before(async () => {
    disk = await DiskStore.open(storeDir)
    const map = await HAMT.create<unknown>({ store: disk })
    for (let i = 0; i < 60; i++) await map.set(`key-${i}`, `value ${i} ${'x'.repeat(2000)}`)
    root = String(await map.flush())
    const zarrMap = await HAMT.create<Uint8Array>({ store: disk, valuesAreBytes: true })
    await writeClimate(new ZarrHAMTStore(zarrMap))
    zarrRoot = String(await zarrMap.flush())
  })

  const stops = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const
  // A closed terminal (SIGHUP) is a stop too.
  const exportStops = [...stops, ['SIGHUP', 129]] as const
  const points = {
    // The gateway has the first block request: the export has started, nothing is written yet.
    'first block request': { answer: 0, reached: (_p: CliProcess, gw: HoldingGateway) => gw.requests(1) },
    // The partial file exists (the gateway answers nothing, so it stays empty).
    'partial file on disk': {
      answer: 0,
      reached: async (p: CliProcess, _gw: HoldingGateway, dir: string) => {
        // Bounded by the run's exit and a count (a hang bound of some 10 s, not a speed limit): an
        // export that never writes the file fails here instead of hanging.
        let exited = false
        void p.exit.then(() => (exited = true))
        for (let looks = 0; looks < 2_000 && !exited; looks++) {
          if ((await partials(dir)).length > 0) return
          await new Promise((r) => setTimeout(r, 5))
        }
        assert.fail(
          `no partial file in ${dir} (${exited ? 'the export ended' : '2000 looks'}): ${p.stderr()}`,
        )
      },
    },
    // Blocks have been written to the partial file and reported.
    'first progress output': { answer: 8, reached: (p: CliProcess) => p.firstStderr },
  }
  for (const [signal, code] of exportStops) {
    for (const [point, { answer, reached }] of Object.entries(points)) {
      it(`export stopped by ${signal} at its ${point}: exits ${code}, no partial file survives`, async () => {
        const gateway = await startHoldingGateway(disk, answer)
        try {
          const dir = await freshDir()
          const out = join(dir, 'out.car')
          const run = spawnCli(['export', root, out, '--gateway', gateway.url, '--progress'], scratch)
          await reached(run, gateway, dir)
          run.child.kill(signal)
          assert.deepEqual(await run.exit, { code, signal: null }, run.stderr())
          assert.deepEqual(await partials(dir), [])
          assert.equal(existsSync(out), false)
          assert.match(run.stderr(), new RegExp(`stopped by ${signal}`))
          noStackTrace(run.stderr())
        } finally {
          await gateway.close()
        }
      })
    }
  }

  it('import stopped by SIGINT or SIGTERM while its writes wait on the store exits 130 or 143', async () => {
    const car = join(await freshDir(), 'map.car')
    await ok('export', root, car, '--store', storeDir)
    // A Kubo that never answers: the import reads the CAR, reports progress, then waits to upload.
    // (Not a FIFO that stalls: Node cannot exit while a read of one is pending, signal or not.)
    const kubo = await startHoldingGateway(disk, 0)
    try {
      for (const [signal, code] of stops) {
        const run = spawnCli(
          ['import', car, '--kubo', kubo.url, '--gateway', kubo.url, '--progress'],
          scratch,
        )
        await run.firstStderr
        run.child.kill(signal)
        assert.deepEqual(await run.exit, { code, signal: null }, run.stderr())
        assert.match(run.stderr(), new RegExp(`stopped by ${signal}`))
        noStackTrace(run.stderr())
      }
    } finally {
      await kubo.close()
    }
  })

  it('convert stopped by SIGTERM while its writes wait on the store exits 143', async () => {
    const gateway = await startHoldingGateway(disk, Number.POSITIVE_INFINITY)
    try {
      const run = spawnCli(
        ['convert', zarrRoot, '--kubo', gateway.url, '--gateway', gateway.url, '--progress'],
        scratch,
      )
      await run.firstStderr
      run.child.kill('SIGTERM')
      assert.deepEqual(await run.exit, { code: 143, signal: null }, run.stderr())
      noStackTrace(run.stderr())
    } finally {
      await gateway.close()
    }
  })

  it('work that does not stop on its signal is abandoned: at once for reads, after a grace period for writers', async () => {
    const gateway = await startHoldingGateway(disk, 0)
    try {
      // keys does not take the signal: its walk waits on the gateway, and the run ends at once.
      const keys = spawnCli(['keys', root, '--gateway', gateway.url], scratch)
      await gateway.requests(1)
      let started = performance.now()
      keys.child.kill('SIGINT')
      assert.deepEqual(await keys.exit, { code: 130, signal: null }, keys.stderr())
      // No output or effect tells "at once" from "after the grace period" (the same exit, code and
      // message): only when. The child's grace would start after this kill, so a run that waited for
      // it always takes longer than GRACE_MS from here; the bound is the grace itself, not a guess.
      const tookMs = performance.now() - started
      assert.ok(
        tookMs < GRACE_MS,
        `keys took ${tookMs.toFixed(0)} ms, not less than the ${GRACE_MS} ms grace`,
      )
      // convert opens its source before it can be told to stop: that load is given up after the grace.
      const convert = spawnCli(
        ['convert', zarrRoot, '--kubo', gateway.url, '--gateway', gateway.url],
        scratch,
      )
      await gateway.requests(2)
      started = performance.now()
      convert.child.kill('SIGTERM')
      assert.deepEqual(await convert.exit, { code: 143, signal: null }, convert.stderr())
      assert.match(convert.stderr(), /stopped by SIGTERM/)
      noStackTrace(convert.stderr())
    } finally {
      await gateway.close()
    }
  })

  it('export removes partial files of runs that died, and keeps those of live ones', async () => {
    const dir = await freshDir()
    const out = join(dir, 'out.car')
    const exited = spawn(process.execPath, ['-e', ''])
    await new Promise((resolve) => exited.on('exit', resolve))
    const dead = `${out}.partial-${exited.pid}`
    const live = `${out}.partial-${process.pid}`
    const other = `${out}.partial-notes`
    for (const file of [dead, live, other]) await writeFile(file, 'left over')
    await ok('export', root, out, '--store', storeDir)
    assert.equal(existsSync(dead), false, 'the dead run’s partial file is removed')
    assert.equal(existsSync(live), true, 'a running process’s partial file is kept')
    assert.equal(existsSync(other), true)
    assert.equal(existsSync(out), true)
    // get --out writes the same way: whole under its name, nothing left beside it.
    await ok('get', root, 'key-1', '--out', join(dir, 'value.txt'), '--store', storeDir)
    assert.match(await readFile(join(dir, 'value.txt'), 'utf8'), /^value 1 x+$/)
    assert.deepEqual((await partials(dir)).sort(), [basename(live), basename(other)].sort())
    const noDir = await cli('get', root, 'key-1', '--out', join(dir, 'nope', 'v.txt'), '--store', storeDir)
    assert.equal(noDir.code, 1)
    assert.match(noDir.stderr, /^ts-hamt: writing \S*nope\/v\.txt failed: .*\(ENOENT\)/m) // named as given, as export does
  })

  it('keys piped into a reader that stops after one line ends quietly', async () => {
    const map = await HAMT.create<Uint8Array>({ store: disk, valuesAreBytes: true })
    const pointer = await disk.save(Uint8Array.of(1), 'raw')
    // Far more than a pipe holds (64 KiB), so the CLI is still writing when the reader goes.
    for (let i = 0; i < 2000; i++) await map.setPointer(`key-${i}-${'k'.repeat(120)}`, pointer)
    const many = String(await map.flush())
    const run = spawnCli(['keys', many, '--store', storeDir], scratch)
    const firstLine = await new Promise<string>((resolve) =>
      run.child.stdout?.once('data', (chunk: Buffer) => {
        run.child.stdout?.destroy()
        resolve(chunk.toString().split('\n')[0] as string)
      }),
    )
    assert.match(firstLine, /^key-\d+-k+$/)
    assert.deepEqual(await run.exit, { code: 0, signal: null })
    assert.equal(run.stderr(), '')
  })

  it('data failures exit 1 (2 is for usage errors); fs errors name the path and the errno code', async () => {
    const notZarr = await cli('zarr', 'info', root, '--store', storeDir)
    assert.equal(notZarr.code, 1, notZarr.stderr)
    assert.match(notZarr.stderr, /not a Zarr v3 dataset/)
    const value = String(
      await (await HAMT.open(CID.parse(root), { store: disk, readOnly: true })).getPointer('key-1'),
    )
    const notNode = await cli('zarr', 'info', value, '--store', storeDir)
    assert.equal(notNode.code, 1, notNode.stderr)
    assert.match(notNode.stderr, /neither a HAMT node nor a sharded Zarr manifest/)
    const noCar = await cli('import', 'missing.car', '--store', storeDir)
    assert.equal(noCar.code, 1, noCar.stderr)
    assert.match(noCar.stderr, /missing\.car.*ENOENT/)
    const noDir = await cli('export', root, join('no-such-dir', 'out.car'), '--store', storeDir)
    assert.equal(noDir.code, 1, noDir.stderr)
    assert.match(
      noDir.stderr,
      /no-such-dir\/out\.car.*: no such file or directory \(ENOENT\) \(ERR_STORE\)$/m,
    )
    const json = await cli('export', root, join('no-such-dir', 'out.car'), '--store', storeDir, '--json')
    const { error } = JSON.parse(json.stderr)
    assert.equal(error.code, 'ERR_STORE')
    assert.equal(error.errno, 'ENOENT')
    assert.match(error.path, /no-such-dir\/out\.car/)
    const usage = await cli('zarr', 'info', 'not-a-cid')
    assert.equal(usage.code, 2)
  })
})

describe('ts-hamt CLI with a real Kubo daemon', () => {
  const daemon = startKubo()
  after(async () => (await daemon).stop())

  it('writes through Kubo, pins, exports a CAR that imports into the disk store with the same root', async () => {
    const { rpcUrl, gatewayUrl } = await daemon
    const kubo = ['--kubo', rpcUrl, '--gateway', gatewayUrl]
    let root = await ok('create', ...kubo)
    for (let i = 0; i < 10; i++) root = await ok('set', root, `key-${i}`, `${i}`, '--type', 'number', ...kubo)
    assert.equal(await ok('get', root, 'key-7', ...kubo), '7')
    assert.match(await ok('pin', 'add', root, ...kubo), new RegExp(`pinned ${root}`))
    const pins = JSON.parse(await ok('pin', 'ls', ...kubo, '--json')) as Array<{ cid: string }>
    assert.ok(pins.some((p) => p.cid === root))
    await ok('pin', 'rm', root, ...kubo)

    const car = join(scratch, 'kubo.car')
    const exported = await cli('export', root, car, ...kubo, '--progress')
    assert.equal(exported.code, 0, exported.stderr)
    assert.match(exported.stderr, /exported \d+/, 'progress on stderr')
    const store = join(scratch, 'from-car')
    const imported = JSON.parse(await ok('import', car, '--store', store, '--json'))
    assert.deepEqual(imported.roots, [root])
    assert.equal(await ok('get', root, 'key-9', '--store', store), '9')
    assert.match(await ok('verify', root, '--store', store), /^ok: /)

    // Read-only through a trustless gateway alone.
    assert.equal(await ok('get', root, 'key-3', '--gateway', gatewayUrl), '3')
    const readOnly = await cli('import', car, '--gateway', gatewayUrl)
    assert.equal(readOnly.code, 2)
    assert.match(readOnly.stderr, /read-only/)
  })

  it('zarr info and zarr get read a dataset through a gateway; values equal what was written', async () => {
    const { rpcUrl, gatewayUrl } = await daemon
    const map = await HAMT.create<Uint8Array>({
      store: new KuboStore({ rpcUrl, gateways: gatewayUrl }),
      valuesAreBytes: true,
    })
    const written = await writeClimate(new ZarrHAMTStore(map))
    const root = String(await map.flush())
    const info = JSON.parse(await ok('zarr', 'info', root, '--gateway', gatewayUrl, '--json'))
    const temp = info.nodes.find((n: { path: string }) => n.path === '/temp')
    assert.deepEqual(temp.shape, written.temp?.shape)
    assert.deepEqual(temp.dimensions, ['time', 'lat', 'lon'])
    assert.deepEqual(temp.chunks, [2, 3, 4])
    assert.equal(info.nodes.find((n: { path: string }) => n.path === '/').kind, 'group')
    assert.match(
      await ok('zarr', 'info', root, '--gateway', gatewayUrl),
      /^\/temp: float32 4 × 6 × 8 \(time, lat, lon\), chunks 2 × 3 × 4/m,
    )

    const [, ny, nx] = (written.temp as { shape: number[] }).shape as [number, number, number]
    const got = JSON.parse(
      await ok('zarr', 'get', root, 'temp', '--select', '2,1:4,:', '--gateway', gatewayUrl, '--json'),
    )
    assert.deepEqual(got.shape, [3, nx])
    const all = written.temp?.values as Array<number | null>
    const expected = [1, 2, 3].flatMap((y) => all.slice((2 * ny + y) * nx, (2 * ny + y + 1) * nx))
    assert.deepEqual(got.values, expected)

    // Converted to py-hamt's sharded layout, chunks reused: the same values through the same commands.
    const kubo = ['--kubo', rpcUrl, '--gateway', gatewayUrl]
    const converted = await cli('convert', root, '--chunks-per-shard', '4', ...kubo, '--progress')
    assert.equal(converted.code, 0, converted.stderr)
    assert.match(converted.stderr, /converting \[#*\.*\] \d+\/\d+/, 'a progress bar on stderr')
    const sharded = converted.stdout.trim()
    assert.notEqual(sharded, root)
    assert.match(await ok('zarr', 'info', sharded, '--gateway', gatewayUrl), /sharded Zarr/)
    const fromShards = JSON.parse(
      await ok('zarr', 'get', sharded, 'temp', '--select', '2,1:4,:', '--gateway', gatewayUrl, '--json'),
    )
    assert.deepEqual(fromShards.values, expected)
    const readOnly = await cli('convert', root, '--gateway', gatewayUrl)
    assert.equal(readOnly.code, 2)
    assert.match(readOnly.stderr, /read-only/)

    const bad = await cli('zarr', 'get', root, 'temp', '--select', '9,:,:', '--gateway', gatewayUrl)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /index 9 is outside 0\.\.3/)
  })

  it('names the store when it cannot be reached', async () => {
    const root = 'bafyr4igb3js3dqlnsvmbi533lhghfet3l4r35vbi7mlrvxjb6f3n5wkc3m'
    const run = await cli('get', root, 'k', '--kubo', 'http://127.0.0.1:9', '--gateway', 'http://127.0.0.1:9')
    assert.equal(run.code, 1)
    assert.match(run.stderr, /127\.0\.0\.1:9/)
    const badUrl = await cli('get', root, 'k', '--gateway', 'ftp://example')
    assert.equal(badUrl.code, 2)
    assert.match(badUrl.stderr, /gateways must be an http\(s\) URL, got "ftp:\/\/example"/)
  })
})
