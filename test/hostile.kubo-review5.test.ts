// Review 5: KuboStore against a lying Kubo RPC (a loopback server answering what a broken or
// hostile daemon might): every wrong answer is a typed error, never a wrong ID or a TypeError.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CarWriter } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { importCar, KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { rpc, startKubo } from './helpers/kubo.js'
import { QUICK_KUBO, rpcAnswering } from './helpers/loopback.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const quick = QUICK_KUBO

describe('add with a rabin chunker (whose boundaries are Kubo’s own)', () => {
  it('an answer naming one raw block of other bytes is an integrity error, not the ID returned', async () => {
    const random = mulberry32(seed)
    const data = Uint8Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))
    const other = CID.createV1(raw.code, await sha256.digest(Uint8Array.of(...data, 1)))
    for (const hash of ['blake3', 'sha2-256'] as const) {
      const url = await rpcAnswering(JSON.stringify({ Hash: String(other) }))
      const store = new KuboStore({ rpcUrl: url, gateways: url, chunker: 'rabin', hash, ...quick })
      const outcome = await withinBudget('lying add', () => store.save(data, 'raw'))
      assertTypedError(outcome, 'ERR_INTEGRITY')
    }
  })
})

describe('pin/ls answers that are not Kubo’s', () => {
  const cid = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
  for (const body of [
    'null',
    '[]',
    '{"Keys":"bafy"}',
    '{"Keys":{"not a cid":{"Type":"recursive"}}}',
    `{"Keys":{"${cid}":null}}`,
    `{"Keys":{"${cid}":{"Type":7}}}`,
  ]) {
    it(`${body}: a StoreError`, async () => {
      const url = await rpcAnswering(body)
      const store = new KuboStore({ rpcUrl: url, gateways: url, ...quick })
      const outcome = await withinBudget('pin/ls', () => store.listPins())
      assertTypedError(outcome, 'ERR_STORE')
    })
  }
})

describe('importCar into a real Kubo that fails midway', () => {
  it('leaves nothing buffered: the next flush sends none of its blocks', async (t) => {
    const daemon = await startKubo()
    t.after(() => daemon.stop())
    const leaves = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const bytes = new TextEncoder().encode(`kubo import ${seed} ${i}`)
        return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
      }),
    )
    const rootBytes = dagCbor.encode(leaves.map((leaf) => leaf.cid))
    const root = { cid: CID.createV1(dagCbor.code, await sha256.digest(rootBytes)), bytes: rootBytes }
    const { writer, out } = CarWriter.create([root.cid])
    const chunks: Uint8Array[] = []
    const reading = (async () => {
      for await (const chunk of out) chunks.push(chunk)
    })()
    for (const block of [root, ...leaves]) await writer.put(block)
    await writer.close()
    await reading
    const car = Buffer.concat(chunks)
    async function* cut(): AsyncIterable<Uint8Array> {
      yield car.subarray(0, car.length - 5) // the last block cut short
    }
    const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl })
    const outcome = await withinBudget('cut CAR', () => importCar(store, cut()))
    assertTypedError(outcome, 'ERR_INVALID_VALUE')
    assert.equal(store.bufferedBytes, 0)
    await store.flush()
    for (const block of [root, ...leaves.slice(0, 5)]) {
      const stat = await rpc(
        daemon.rpcUrl,
        'block/stat',
        { arg: String(block.cid), offline: 'true' },
        5_000,
      ).then(
        () => 'held',
        () => 'absent',
      )
      assert.equal(stat, 'absent', `${block.cid} reached Kubo`)
    }
  })
})
