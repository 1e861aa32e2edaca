// Session 14's leftover in Dataset.load: the first variable that failed rejected the load while the
// other variables' reads still ran. Now the others are aborted and the load rejects once all settled.
// (A store load shared by a single flight runs on for its other callers, by design: a caller leaves it
// when its signal fires. What must be over is each variable's read.)
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zarr from 'zarrita'
import { openDataset, type Variable } from '../src/dataset.js'
import {
  type Codec,
  type ContentAddressedStore,
  HAMT,
  type LoadOptions,
  MemoryStore,
  type StoreId,
  ZarrHAMTStore,
} from '../src/index.js'

/**
 * A store whose loads, once armed, are held until their signal fires; the first armed load fails
 * once another load is held, so both variables' reads are under way when one fails.
 */
class HoldingStore implements ContentAddressedStore {
  armed = false
  pending = 0
  #failed = false
  readonly #held: Array<() => void> = []

  constructor(readonly inner: MemoryStore) {}

  save(data: Uint8Array, codec: Codec): Promise<StoreId> {
    return this.inner.save(data, codec)
  }

  async load(id: StoreId, options?: LoadOptions): Promise<Uint8Array> {
    if (!this.armed) return this.inner.load(id, options)
    if (!this.#failed) {
      this.#failed = true
      await new Promise<void>((resolve) => this.#held.push(resolve))
      throw new Error('injected failure')
    }
    this.pending++
    try {
      for (const wake of this.#held.splice(0)) wake()
      await new Promise<void>((_, reject) => {
        const signal = options?.signal
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
    } finally {
      this.pending--
    }
    return this.inner.load(id)
  }
}

async function twoVariables(): Promise<{ root: Uint8Array; store: HoldingStore }> {
  const store = new HoldingStore(await MemoryStore.create())
  const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const group = await zarr.create(zarr.root(new ZarrHAMTStore(map)), { attributes: {} })
  const shape = [4]
  const options = { shape, chunkShape: shape, dimensionNames: ['x'], dtype: 'int32' as const }
  for (const name of ['x', 'a', 'b']) {
    const array = await zarr.create(group.resolve(name), options)
    await zarr.set(array, null, { data: Int32Array.of(1, 2, 3, 4), shape, stride: [1] })
  }
  return { root: (await map.flush()) as Uint8Array, store }
}

describe('Dataset.load where one variable fails', () => {
  it('rejects only after every variable’s read settled', async () => {
    const { root, store } = await twoVariables()
    const ds = await openDataset(root, { store })
    assert.deepEqual(ds.dataVars, ['a', 'b'])
    // A spy on the variables' own load: when each settles, against when the dataset's load did.
    const events: string[] = []
    const variableProto = Object.getPrototypeOf(ds.variable('a')) as { load: Variable['load'] }
    const load = variableProto.load
    variableProto.load = function (this: Variable, options) {
      const name = this.name
      return load.call(this, options).finally(() => events.push(`${name} settled`))
    }
    try {
      store.armed = true
      const error = await ds.load().then(
        () => assert.fail('the load succeeded'),
        (error: unknown) => {
          events.push('load rejected')
          return error
        },
      )
      assert.match(String(error), /injected failure/)
      assert.deepEqual(events.slice().sort(), ['a settled', 'b settled', 'load rejected'])
      assert.equal(events.at(-1), 'load rejected', `a variable's read settled after: ${events}`)
    } finally {
      variableProto.load = load
    }
  })
})
