// Zarr interop with the real py-hamt 3.6.0 + xarray + zarr-python, in memory and on a real Kubo daemon,
// plain and encrypted: datasets written by Python open in zarrita through ts-hamt, and the other way.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { bytesToHex, hexToBytes } from '../src/blocks.js'
import {
  EncryptedZarrHAMTStore,
  HAMT,
  KuboStore,
  MemoryStore,
  type StoreId,
  ZarrHAMTStore,
} from '../src/index.js'
import { readVariable, type Variable, writeClimate } from './helpers/climate.js'
import { startKubo } from './helpers/kubo.js'
import { pyHamtPython, zarrDriver } from './helpers/python.js'

type Written = {
  root: string
  blocks?: Record<string, string>
  expected: Record<string, Variable & { dims: string[]; zarrJson: { attributes: Record<string, unknown> } }>
  datasetAttrs: Record<string, unknown>
  keys: string[]
}
type Read = {
  variables: Record<string, Variable & { dims: string[] }>
  datasetAttrs: Record<string, unknown>
}

const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 11 + 3) & 255)
const header = new TextEncoder().encode('ts-hamt-interop')
const encryption = { keyHex: bytesToHex(key), headerHex: bytesToHex(header) }

const daemon = await startKubo()
after(() => daemon.stop())

type Backend = {
  name: string
  request: Record<string, unknown>
  /** A map to write into, and how to hand its root to Python. */
  newMap(): Promise<{ map: HAMT<Uint8Array>; export(root: StoreId): Promise<Record<string, unknown>> }>
  /** Opens what Python wrote. */
  open(written: Written): Promise<HAMT<Uint8Array>>
}

const memory: Backend = {
  name: 'in memory',
  request: { store: 'memory' },
  async newMap() {
    const store = await MemoryStore.create()
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    return {
      map,
      async export(root) {
        const blocks = Object.fromEntries(
          [...store.blocks()].map(([id, data]) => [bytesToHex(id), bytesToHex(data)]),
        )
        return { root: bytesToHex(root as Uint8Array), blocks }
      },
    }
  },
  async open(written) {
    const store = await MemoryStore.create()
    for (const data of Object.values(written.blocks ?? {})) await store.save(hexToBytes(data), 'raw')
    return HAMT.open<Uint8Array>(hexToBytes(written.root), { store, readOnly: true, valuesAreBytes: true })
  },
}

const kubo: Backend = {
  name: 'on Kubo',
  request: { store: 'kubo', rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl },
  async newMap() {
    const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
    const map = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
    return { map, export: async (root) => ({ root: String(root) }) }
  },
  async open(written) {
    const store = new KuboStore({ rpcUrl: null, gateways: daemon.gatewayUrl })
    return HAMT.open<Uint8Array>(CID.parse(written.root), { store, readOnly: true, valuesAreBytes: true })
  },
}

const zarrStore = (map: HAMT<Uint8Array>, encrypted: boolean): ZarrHAMTStore =>
  encrypted ? new EncryptedZarrHAMTStore(map, { key, header }) : new ZarrHAMTStore(map)

describe('Zarr interop with py-hamt 3.6.0 and xarray', () => {
  before(async () => {
    await pyHamtPython()
  })

  for (const backend of [memory, kubo]) {
    for (const encrypted of [false, true]) {
      const label = `${backend.name}${encrypted ? ', encrypted' : ''}`

      it(`a dataset written by xarray through py-hamt opens in zarrita with every value equal (${label})`, async () => {
        const written = await zarrDriver<Written>('write', {
          ...backend.request,
          dataset: 'climate',
          ...(encrypted ? { encryption } : {}),
        })
        const store = zarrStore(await backend.open(written), encrypted)
        const keys: string[] = []
        for await (const k of store.list()) keys.push(k)
        assert.deepEqual(keys.sort(), [...written.keys].sort())
        for (const [name, expected] of Object.entries(written.expected)) {
          const actual = await readVariable(store, name)
          assert.deepEqual(actual.shape, expected.shape, `${name} shape`)
          assert.equal(actual.dtype, expected.dtype, `${name} dtype`)
          assert.deepEqual(actual.values, expected.values, `${name} values`)
          assert.deepEqual(actual.attrs, expected.zarrJson.attributes, `${name} attributes`)
        }
      })

      it(`a dataset written by zarrita through ts-hamt opens in xarray with every value equal (${label})`, async () => {
        const { map, export: exportRoot } = await backend.newMap()
        const wrote = await writeClimate(zarrStore(map, encrypted))
        const root = await map.flush()
        const read = await zarrDriver<Read>('read', {
          ...backend.request,
          ...(await exportRoot(root)),
          ...(encrypted ? { encryption } : {}),
        })
        assert.deepEqual(read.datasetAttrs, { title: 'ts-hamt climate', institution: 'ts-hamt tests' })
        assert.deepEqual(Object.keys(read.variables).sort(), Object.keys(wrote).sort())
        for (const [name, variable] of Object.entries(wrote)) {
          const seen = read.variables[name]
          assert.ok(seen !== undefined, name)
          assert.deepEqual(seen.shape, variable.shape, `${name} shape`)
          assert.equal(seen.dtype, variable.dtype, `${name} dtype`)
          assert.deepEqual(seen.values, variable.values, `${name} values`)
          assert.deepEqual(seen.attrs, variable.attrs, `${name} attributes`)
        }
      })
    }
  }
})
