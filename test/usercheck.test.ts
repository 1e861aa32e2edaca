// What a new user of the package meets after `create` writes, `open` reads: a refused write says how
// to write instead, and the openers take what the README says they take.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockstore } from 'blockstore-core/memory'
import * as zarr from 'zarrita'
import {
  BlockstoreStore,
  type CarSource,
  type ContentAddressedStore,
  exportCar,
  HAMT,
  importCar,
  isHamtError,
  MemoryStore,
  openZarrRoot,
  ShardedZarrStore,
  ZarrHAMTStore,
} from '../src/index.js'
import { zarrLayoutOf } from '../src/layout.js'
import { CidMemoryStore } from './helpers/cid-store.js'

/** Asserts an ERR_READ_ONLY whose message matches every pattern (the remedy it names). */
const readOnlySaying =
  (...patterns: RegExp[]) =>
  (err: unknown): boolean => {
    assert.ok(isHamtError(err, 'ERR_READ_ONLY'), `expected ERR_READ_ONLY, got ${String(err)}`)
    for (const pattern of patterns) assert.match(err.message, pattern)
    return true
  }

describe('a refused write says how to write', () => {
  it('HAMT.open without readOnly: false: the message names the option and enableWrite()', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<number>({ store })
    await map.set('a', 1)
    const opened = await HAMT.open<number>(await map.flush(), { store })
    await assert.rejects(
      opened.set('b', 2),
      readOnlySaying(/^cannot set: /, /readOnly: false/, /enableWrite\(\)/),
    )
    await assert.rejects(opened.delete('a'), readOnlySaying(/^cannot delete: /, /readOnly: false/))
    // The advice works: the same map is writable after enableWrite().
    await opened.enableWrite()
    await opened.set('b', 2)
    assert.equal(await opened.get('b'), 2)
  })

  it('a ZarrHAMTStore on an opened HAMT, or made readOnly: true, says which and how', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    await zarr.create(zarr.root(new ZarrHAMTStore(map)).resolve('t'), {
      shape: [2],
      chunkShape: [2],
      dtype: 'uint8',
    })
    const root = await map.flush()
    const onOpened = new ZarrHAMTStore(await HAMT.open<Uint8Array>(root, { store, valuesAreBytes: true }))
    await assert.rejects(
      onOpened.set('/t/c/0', Uint8Array.of(1)),
      readOnlySaying(/^cannot set: /, /Zarr store's HAMT is read-only/, /readOnly: false/, /enableWrite\(\)/),
    )
    // Opened without valuesAreBytes (the other option a Zarr reader needs): the message says where it goes.
    const notBytes = await HAMT.open<Uint8Array>(root, { store })
    assert.throws(
      () => new ZarrHAMTStore(notBytes),
      (err: unknown) =>
        isHamtError(err, 'ERR_INVALID_ARGUMENT') && /valuesAreBytes: true to HAMT\.open/.test(err.message),
    )
    const madeReadOnly = new ZarrHAMTStore(map, { readOnly: true })
    await assert.rejects(
      madeReadOnly.delete('/t/zarr.json'),
      readOnlySaying(/^cannot delete: /, /Zarr store was made with readOnly: true/),
    )
  })

  it('a ShardedZarrStore opened to read names its own remedy, not a method it does not have', async () => {
    const store = await CidMemoryStore.create()
    const writer = await ShardedZarrStore.create({
      store,
      chunksPerShard: 2,
      arrayShape: [4],
      chunkShape: [1],
    })
    await writer.set('c/0', Uint8Array.of(1))
    const root = await writer.flush()
    for (const reader of [
      await ShardedZarrStore.open(root, { store }),
      (await openZarrRoot(root, { store })).store,
    ]) {
      await assert.rejects(reader.set('c/1', Uint8Array.of(2)), (err: unknown) => {
        readOnlySaying(/^cannot set: /, /ShardedZarrStore\.open/, /readOnly: false/)(err)
        assert.doesNotMatch((err as Error).message, /enableWrite/)
        return true
      })
    }
  })
})

describe('openers take what the README says', () => {
  it('openZarrRoot opens a HAMT dataset at the byte ID a MemoryStore flush returns', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    const temp = await zarr.create(zarr.root(new ZarrHAMTStore(map)).resolve('t'), {
      shape: [3],
      chunkShape: [3],
      dtype: 'int32',
    })
    await zarr.set(temp, null, 7)
    const root = await map.flush()
    assert.ok(root instanceof Uint8Array, 'MemoryStore gives byte IDs')
    const { layout, store: opened } = await openZarrRoot(root, { store })
    assert.deepEqual(layout, { kind: 'hamt' })
    const read = await zarr.open(zarr.root(opened).resolve('t'), { kind: 'array' })
    assert.deepEqual(Array.from((await zarr.get(read)).data as Int32Array), [7, 7, 7])
    // Anything that is not an ID is still refused at the boundary, naming the argument.
    await assert.rejects(openZarrRoot(42 as never, { store }), (err: unknown) => {
      assert.ok(isHamtError(err, 'ERR_INVALID_ARGUMENT'))
      assert.match(err.message, /^root must be a CID or bytes, got /)
      return true
    })
  })

  it('zarrLayoutOf takes the root block alone, as the README calls it', async () => {
    const store = await MemoryStore.create()
    const map = await HAMT.create({ store })
    const block = await store.load(await map.flush())
    assert.deepEqual(zarrLayoutOf(block), { kind: 'hamt' })
    assert.throws(
      () => zarrLayoutOf(Uint8Array.of(0xff)),
      (err: unknown) =>
        isHamtError(err, 'ERR_INVALID_ARGUMENT') && /^rootBlock is not a DAG-CBOR block/.test(err.message),
    )
  })

  it('HAMT.open and openZarrRoot take a signal that bounds the load of the root, as ShardedZarrStore.open does', {
    timeout: 10_000,
  }, async () => {
    const memory = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store: memory, valuesAreBytes: true })
    const root = await map.flush()
    // A store whose loads answer only when their signal aborts: a gateway that never answers.
    const seen: (AbortSignal | undefined)[] = []
    const stalled: ContentAddressedStore = {
      save: (data, codec) => memory.save(data, codec),
      load: (_id, options) =>
        new Promise((_, reject) => {
          seen.push(options?.signal)
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true })
        }),
    }
    for (const open of [
      (signal: AbortSignal) => HAMT.open(root, { store: stalled, signal }),
      (signal: AbortSignal) => openZarrRoot(root, { store: stalled, signal }),
    ]) {
      const controller = new AbortController()
      const opening = open(controller.signal)
      await new Promise((resolve) => setTimeout(resolve, 10))
      controller.abort()
      await assert.rejects(opening, { name: 'AbortError' })
    }
    assert.ok(seen.length >= 2 && seen.every((signal) => signal !== undefined))
  })
})

describe('every type a public signature names is exported', () => {
  it('importCar takes a CarSource, a name a wrapper of it can use', async () => {
    const source = new BlockstoreStore(new MemoryBlockstore())
    const map = await HAMT.create<number>({ store: source })
    await map.set('a', 1)
    const root = await map.flush()
    // A user's own function over importCar names its parameter's type (a type error before it was exported).
    const importInto = (target: BlockstoreStore, car: CarSource) => importCar(target, car)
    const target = new BlockstoreStore(new MemoryBlockstore())
    const { roots } = await importInto(target, exportCar(source, root))
    assert.equal(String(roots[0]), String(root))
    assert.equal(await (await HAMT.open<number>(root, { store: target })).get('a'), 1)
  })
})
