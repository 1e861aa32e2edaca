// CAR export and import, and trustless gateway reads, end to end through a real Kubo daemon:
// on-disk store → CAR file → `ipfs dag import` → Kubo's gateway → TrustlessGatewayStore.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { concatBytes } from '../src/cas/concat.js'
import {
  type ContentAddressedStore,
  exportCar,
  HAMT,
  importCar,
  isHamtError,
  KuboStore,
  TrustlessGatewayStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { DiskStore, exportCarFile, importCarFile } from '../src/node/index.js'
import { readVariable, writeClimate } from './helpers/climate.js'
import { startKubo } from './helpers/kubo.js'
import { startProxy } from './helpers/proxy.js'
import { storeComplianceSuite } from './helpers/store-compliance.js'

const run = promisify(execFile)
await loadBlake3()
const daemon = await startKubo()
after(() => daemon.stop())
const scratch = await mkdtemp(join(tmpdir(), 'ts-hamt-car-'))
after(() => rm(scratch, { recursive: true, force: true }))
let dirs = 0
const freshDir = (): string => join(scratch, `store-${dirs++}`)
const bytes = (n: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 255)

/** `ipfs dag import` of a CAR file through the daemon's RPC API, as a user would upload one. */
async function kuboDagImport(car: Uint8Array): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([car as Uint8Array<ArrayBuffer>]))
  const response = await fetch(`${daemon.rpcUrl}/api/v0/dag/import?pin-roots=true`, {
    method: 'POST',
    body: form,
  })
  const text = await response.text()
  assert.ok(response.ok, text)
  return text
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return concatBytes(parts)
}

/** A map with small values, CBOR values and two values above one chunk (UnixFS files). */
async function writeSampleMap(
  store: DiskStore,
): Promise<{ root: HAMT<unknown>; expected: Map<string, unknown> }> {
  const map = await HAMT.create<unknown>({ store })
  const expected = new Map<string, unknown>()
  for (let i = 0; i < 3000; i++) expected.set(`key-${i}`, i % 5 === 0 ? bytes(i % 300, i) : { i, s: `v${i}` })
  expected.set('big-1', bytes((1 << 20) * 2 + 11, 3))
  expected.set('big-2', bytes((1 << 20) + 1, 4))
  for (const [key, value] of expected) await map.set(key, value)
  return { root: map, expected }
}

async function assertMapEquals(map: HAMT<unknown>, expected: Map<string, unknown>): Promise<void> {
  assert.equal(await map.size(), expected.size)
  for (const [key, value] of expected) assert.deepEqual(await map.get(key), value, key)
}

describe('CAR export and import', () => {
  it('on-disk → CAR file → Kubo dag import → trustless gateway: same root, every value equal', async () => {
    const disk = await DiskStore.open(freshDir())
    const { root: map, expected } = await writeSampleMap(disk)
    const root = await map.flush()
    const carPath = join(scratch, 'map.car')
    const progress: number[] = []
    await exportCarFile(disk, root, carPath, { onProgress: ({ blocks }) => progress.push(blocks) })
    assert.ok((await stat(carPath)).size > 3 << 20)
    assert.ok(progress.length > 3000 && progress.at(-1) === progress.length, 'progress after every block')

    const answer = await kuboDagImport(await readFile(carPath))
    assert.match(answer, new RegExp(String(root)), 'Kubo names the CAR root it pinned')
    const gateway = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    const fromGateway = await HAMT.open<unknown>(root, { store: gateway, readOnly: true })
    await assertMapEquals(fromGateway, expected)
    assert.deepEqual((await fromGateway.verify()).problems, [])

    // …and back: the same CAR into a fresh on-disk store.
    const copy = await DiskStore.open(freshDir())
    const imported = await importCarFile(copy, carPath)
    assert.deepEqual(imported.roots.map(String), [String(root)])
    assert.equal(imported.blocks, progress.at(-1))
    await assertMapEquals(await HAMT.open(root, { store: copy, readOnly: true }), expected)
  })

  it('exports the same blocks from a trustless gateway as from the disk store', async () => {
    const disk = await DiskStore.open(freshDir())
    const { root: map } = await writeSampleMap(disk)
    const root = await map.flush()
    await kuboDagImport(await collect(exportCar(disk, root)))
    const gateway = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    // Block order follows arrival; compare the sets of blocks, and the header.
    const fromDisk = await blocksOf(await collect(exportCar(disk, root, { concurrency: 1 })))
    const fromGateway = await blocksOf(await collect(exportCar(gateway, root, { concurrency: 8 })))
    assert.deepEqual(fromGateway.roots, fromDisk.roots)
    assert.deepEqual([...fromGateway.blocks.keys()].sort(), [...fromDisk.blocks.keys()].sort())
  })

  it('moves a Zarr dataset: zarrita on disk → CAR → KuboStore import → zarrita through a gateway', async () => {
    const disk = await DiskStore.open(freshDir())
    const map = await HAMT.create<Uint8Array>({ store: disk, valuesAreBytes: true })
    const written = await writeClimate(new ZarrHAMTStore(map))
    const root = await map.flush()
    const car = await collect(exportCar(disk, root))
    const kubo = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
    const { roots } = await importCar(kubo, car)
    assert.deepEqual(roots.map(String), [String(root)])
    const gateway = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    const reader = new ZarrHAMTStore(
      await HAMT.open<Uint8Array>(root, { store: gateway, readOnly: true, valuesAreBytes: true }),
    )
    for (const name of Object.keys(written)) {
      assert.deepEqual(await readVariable(reader, name), written[name], name)
    }
    const group = await zarr.open(zarr.root(reader), { kind: 'group' })
    assert.ok(Object.keys(group.attrs).length > 0)
  })

  it('refuses a corrupt or truncated CAR and a block that does not match its CID', async () => {
    const disk = await DiskStore.open(freshDir())
    const map = await HAMT.create<number>({ store: disk })
    for (let i = 0; i < 50; i++) await map.set(`k${i}`, i)
    const root = await map.flush()
    const car = await collect(exportCar(disk, root))
    const target = await DiskStore.open(freshDir())
    await assert.rejects(importCar(target, Uint8Array.of(1, 2, 3)), (e) =>
      isHamtError(e, 'ERR_INVALID_VALUE'),
    )
    await assert.rejects(importCar(target, car.subarray(0, car.length - 5)), (e) =>
      isHamtError(e, 'ERR_INVALID_VALUE'),
    )
    const tampered = car.slice()
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] as number) ^ 1
    await assert.rejects(importCar(target, tampered), (e) => isHamtError(e, 'ERR_INTEGRITY'))
    // A CAR cut between blocks, or with its header only, is incomplete: no root comes back.
    const { roots, blocks } = await blocksOf(car)
    const withoutLast = [...blocks].slice(0, -1).map(([cid, bytes]) => ({ cid: CID.parse(cid), bytes }))
    for (const partial of [withoutLast, []]) {
      await assert.rejects(
        importCar(await DiskStore.open(freshDir()), await collect(exportCarFrom(partial, roots))),
        (e) => isHamtError(e, 'ERR_INVALID_VALUE') && /incomplete/.test(String(e)),
      )
    }
    // …but a CAR may leave out blocks the target already has.
    const holder = await DiskStore.open(freshDir())
    const [lastCid, lastBytes] = [...blocks].at(-1) as [string, Uint8Array]
    await holder.putBlock(CID.parse(lastCid), lastBytes)
    const completed = await importCar(holder, await collect(exportCarFrom(withoutLast, roots)))
    assert.deepEqual(completed.roots.map(String), roots)

    // A failed file import closes its file; a missing file is named as such.
    const carPath = join(scratch, 'tampered.car')
    await writeFile(carPath, tampered)
    const openFiles = async () => (await readdir('/proc/self/fd')).length
    const before = await openFiles()
    for (let i = 0; i < 5; i++) {
      await assert.rejects(importCarFile(target, carPath), (e) => isHamtError(e, 'ERR_INTEGRITY'))
    }
    assert.equal(await openFiles(), before, 'no file left open')
    await assert.rejects(
      importCarFile(target, join(scratch, 'no-such.car')),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /no-such\.car/.test(String(e)),
    )

    // Exporting a root the store does not have names the missing block.
    const empty = await DiskStore.open(freshDir())
    await assert.rejects(collect(exportCar(empty, root)), (e) => isHamtError(e, 'ERR_BLOCK_NOT_FOUND'))
  })
})

describe('exportCarFile when the file system fails', () => {
  it('a full disk or a missing directory is ERR_STORE with the fs code, and leaves no partial file', async (t) => {
    const store = await DiskStore.open(freshDir())
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    for (let i = 0; i < 30; i++) await map.set(`v${i}`, bytes(10_000, i + 1))
    const root = await map.flush()
    const missing = join(scratch, 'no-such-dir', 'out.car')
    await assert.rejects(
      exportCarFile(store, root, missing),
      (e) => isHamtError(e, 'ERR_STORE') && /ENOENT/.test(String(e)) && /out\.car/.test(String(e)),
    )
    const disk = await mkdtemp(join(tmpdir(), 'ts-hamt-full-'))
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk])
    } catch (error) {
      await rm(disk, { recursive: true, force: true })
      return t.skip(`no tmpfs mount: ${(error as Error).message.split('\n')[0]}`)
    }
    try {
      await assert.rejects(
        exportCarFile(store, root, join(disk, 'out.car')),
        (e) => isHamtError(e, 'ERR_STORE') && /ENOSPC/.test(String(e)),
      )
      assert.deepEqual(await readdir(disk), [], 'no partial file is left')
    } finally {
      await run('umount', [disk]).catch(() => {})
      await rm(disk, { recursive: true, force: true })
    }
  })
})

// The read contract of the trustless store: blocks are written through Kubo's RPC and every load
// goes through the gateway, verified (the store itself is read-only, so saves are Kubo's).
storeComplianceSuite(
  'TrustlessGatewayStore (saves through Kubo, loads through the gateway)',
  async () => {
    const writer = new KuboStore({
      rpcUrl: daemon.rpcUrl,
      gateways: daemon.gatewayUrl,
      writeBufferBytes: 0,
    })
    const reader = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    return {
      save: (data, codec, options) => writer.save(data, codec, options),
      load: (id, options) => reader.load(id, options),
    } satisfies ContentAddressedStore
  },
  async () => CID.createV1(0x55, blake3Hasher.digest(new TextEncoder().encode(`never ${Math.random()}`))),
)

describe('TrustlessGatewayStore', () => {
  it('detects wrong and truncated blocks and fails over to the next gateway', async () => {
    const disk = await DiskStore.open(freshDir())
    const map = await HAMT.create<unknown>({ store: disk })
    await map.set('small', bytes(300, 9))
    await map.set('big', bytes((1 << 20) + 500, 2))
    const root = await map.flush()
    await kuboDagImport(await collect(exportCar(disk, root)))
    const flipped = await startProxy(daemon.gatewayUrl, {
      rewriteBody: (body) => Uint8Array.from(body, (b, i) => (i === 7 ? b ^ 1 : b)),
    })
    const truncated = await startProxy(daemon.gatewayUrl, {
      rewriteBody: (body) => body.subarray(0, body.length - 1),
    })
    try {
      for (const liar of [flipped, truncated]) {
        const store = new TrustlessGatewayStore({ gateways: liar.url })
        await assert.rejects(HAMT.open(root, { store }), (e) => isHamtError(e, 'ERR_INTEGRITY'))
        assert.ok(
          liar.seen.every((r) => r.url.includes('format=raw')),
          'asks for raw blocks only',
        )
      }
      const store = new TrustlessGatewayStore({ gateways: [flipped.url, truncated.url, daemon.gatewayUrl] })
      const reader = await HAMT.open<unknown>(root, { store, readOnly: true })
      assert.deepEqual(await reader.get('small'), bytes(300, 9))
      assert.deepEqual(await reader.get('big'), bytes((1 << 20) + 500, 2))
      // A range reads the stored (DAG-CBOR) bytes, fetching only the file blocks it overlaps.
      const stored = dagCbor.encode(bytes((1 << 20) + 500, 2))
      assert.deepEqual(
        await reader.get('big', { range: { offset: (1 << 20) - 10, length: 100 } }),
        stored.slice((1 << 20) - 10, (1 << 20) + 90),
      )
    } finally {
      await flipped.close()
      await truncated.close()
    }
  })

  it('cuts off a gateway that streams more than a block can hold, and fails over', async () => {
    const disk = await DiskStore.open(freshDir())
    const map = await HAMT.create<string>({ store: disk })
    await map.set('k', 'v')
    const root = await map.flush()
    await kuboDagImport(await collect(exportCar(disk, root)))
    // A hostile gateway: an endless body with no length (bounded here at 64 MiB so the test stops).
    let sent = 0
    const endless = createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' })
      const chunk = new Uint8Array(64 << 10)
      const pump = (): void => {
        while (sent < 64 << 20 && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
    })
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`
    try {
      const alone = new TrustlessGatewayStore({ gateways: url, retries: 0 })
      await assert.rejects(
        alone.getBlock(root as CID),
        (e) => isHamtError(e, 'ERR_STORE') && /more than the 4194304 bytes it may have/.test(String(e)),
      )
      assert.ok(sent < 16 << 20, `stopped reading after ${sent} bytes`)
      const withFallback = new TrustlessGatewayStore({ gateways: [url, daemon.gatewayUrl], retries: 0 })
      const reader = await HAMT.open<string>(root, { store: withFallback, readOnly: true })
      assert.equal(await reader.get('k'), 'v')
    } finally {
      endless.closeAllConnections()
      await new Promise((resolve) => endless.close(resolve))
    }
  })

  it('is read-only and rejects bad options with typed errors', async () => {
    const store = new TrustlessGatewayStore({ gateways: daemon.gatewayUrl })
    await assert.rejects(store.save(), (e) => isHamtError(e, 'ERR_STORE') && /read-only/.test(String(e)))
    assert.throws(
      () => new TrustlessGatewayStore({ gateways: 'ftp://x' }),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT'),
    )
    assert.throws(
      () => new TrustlessGatewayStore({} as never),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT') && /gateways/.test(String(e)),
    )
    assert.throws(
      () => new TrustlessGatewayStore({ gateways: [] }),
      (e) => isHamtError(e, 'ERR_INVALID_ARGUMENT'),
    )
  })
})

/** A CAR of `blocks` with `roots`, streamed as chunks (for importCar's streaming path). */
async function* exportCarFrom(
  blocks: Array<{ cid: CID; bytes: Uint8Array }>,
  roots: string[],
): AsyncGenerator<Uint8Array> {
  const rootCids = roots.map((r) => CID.parse(r))
  const headerSize = CarBufferWriter.headerLength({ roots: rootCids })
  const size = blocks.reduce((n, b) => n + CarBufferWriter.blockLength(b), headerSize)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: rootCids, headerSize })
  for (const block of blocks) writer.write(block)
  yield writer.close()
}

/** The roots and blocks (by CID string) of a CAR, parsed by @ipld/car's own reader. */
async function blocksOf(car: Uint8Array): Promise<{ roots: string[]; blocks: Map<string, Uint8Array> }> {
  const { CarReader } = await import('@ipld/car')
  const reader = await CarReader.fromBytes(car)
  const blocks = new Map<string, Uint8Array>()
  for await (const block of reader.blocks()) blocks.set(String(block.cid), block.bytes)
  return { roots: (await reader.getRoots()).map(String), blocks }
}
