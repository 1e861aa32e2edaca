// Hostile answers to IPNS record requests, and hostile names: each ends in a typed error (or, for a
// record changed where no signature covers it, the same root) within its time and memory budget.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { createIPNSRecord, marshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { HAMT, isHamtError, TrustlessGatewayStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { serve } from './helpers/loopback.js'
import { testSeed } from './helpers/random.js'

const seed = testSeed()

const RECORD_TYPE = 'application/vnd.ipfs.ipns-record'
const root = CID.parse('bafkqac3jobxhgidsn5rww4yk')
const key = await generateKeyPair('Ed25519')
const name = `/ipns/${CID.createV1(0x72, key.publicKey.toMultihash()).toString(base36)}`
const valid = marshalIPNSRecord(await createIPNSRecord(key, root, 1n, 3_600_000))

/** A gateway answering every request with `body` as an IPNS record (the body is read per request). */
let current: Uint8Array = valid
const gateway = await serve((_req, res) => {
  res.writeHead(200, { 'content-type': RECORD_TYPE, 'content-length': current.length }).end(current)
})
const store = new TrustlessGatewayStore({ gateways: gateway.url, retries: 0 })

describe('hostile IPNS answers', () => {
  it('a valid record resolves (the baseline the cases below change)', async () => {
    current = valid
    assert.equal((await store.resolveName(name)).cid.toString(), root.toString())
    // The same key's name in its other forms: base32 CIDv1, base58 peer ID (its identity multihash).
    const cid = CID.createV1(0x72, key.publicKey.toMultihash())
    for (const form of [`/ipns/${cid.toString()}`, `ipns://${base58btc.baseEncode(cid.multihash.bytes)}`]) {
      const resolved = await store.resolveName(form)
      assert.equal(resolved.name, name, form)
      assert.equal(resolved.cid.toString(), root.toString())
    }
  })

  it('an endless body is cut off after 10 KiB: too-large', async () => {
    const endless = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': RECORD_TYPE })
      const chunk = new Uint8Array(64 * 1024)
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump)
      }
      pump()
    })
    const s = new TrustlessGatewayStore({ gateways: endless.url, retries: 0 })
    const outcome = await withinBudget('endless record', () => s.resolveName(name))
    assertTypedError(outcome, 'ERR_IPNS_RECORD')
    assert.equal((outcome.error as { problem: string }).problem, 'too-large')
  })

  it('a declared length above 10 KiB is refused before its body is read: too-large', async () => {
    const declared = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': RECORD_TYPE, 'content-length': String(1 << 30) })
      res.write(new Uint8Array(1024))
    })
    const s = new TrustlessGatewayStore({ gateways: declared.url, retries: 0 })
    const outcome = await withinBudget('1 GiB declared', () => s.resolveName(name))
    assertTypedError(outcome, 'ERR_IPNS_RECORD')
    assert.equal((outcome.error as { problem: string }).problem, 'too-large')
  })

  it('a body that never ends, below the limit, ends with the attempt timeout (typed)', async () => {
    const stalled = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': RECORD_TYPE })
      res.write(valid.subarray(0, 10))
    })
    const s = new TrustlessGatewayStore({ gateways: stalled.url, retries: 0, timeoutMs: 300 })
    const outcome = await withinBudget('stalled record', () => s.resolveName(name))
    assertTypedError(outcome, 'ERR_STORE')
    // The given timeout ended it, not the 60 s default (no time is asserted).
    assert.match(String(outcome.error), /timed out after 300 ms/)
  })

  it('the caller’s signal ends a resolution waiting on a stalled gateway, with its reason', async () => {
    const stalled = await serve(() => {})
    const s = new TrustlessGatewayStore({ gateways: stalled.url, retries: 0 })
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('enough')), 100)
    const outcome = await withinBudget('aborted resolution', () =>
      HAMT.open(name, { store: s, signal: controller.signal }),
    )
    assert.equal((outcome.error as Error)?.message, 'enough')
  })

  it('garbage of any length up to 10 KiB is refused: ERR_IPNS_RECORD', async () => {
    // One budget for the whole property: a full GC per case would cost more than the cases.
    const property = fc.asyncProperty(fc.uint8Array({ maxLength: 10 * 1024 }), async (bytes) => {
      current = bytes
      assertTypedError(await outcomeOf(() => store.resolveName(name)), 'ERR_IPNS_RECORD')
    })
    await withinBudget('100 garbage records', () => fc.assert(property, { seed, numRuns: 100 }))
  })

  it('a valid record with bytes changed is refused, or (where no signature covers them) names the same root', async () => {
    const property = fc.asyncProperty(
      fc.array(fc.record({ at: fc.nat({ max: valid.length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      async (flips) => {
        const changed = valid.slice()
        for (const { at, xor } of flips) changed[at] = (changed[at] as number) ^ xor
        current = changed
        const outcome = await outcomeOf(() => store.resolveName(name))
        if (outcome.error !== undefined) assertTypedError(outcome, 'ERR_IPNS_RECORD')
        else assert.equal(outcome.value?.cid.toString(), root.toString())
      },
    )
    await withinBudget('200 changed records', () => fc.assert(property, { seed, numRuns: 200 }))
  })

  it('a name that points to itself ends after 32 steps: too-deep', async () => {
    current = marshalIPNSRecord(await createIPNSRecord(key, name, 2n, 3_600_000))
    const before = gateway.seen.length
    const outcome = await withinBudget('self-referential name', () => store.resolveName(name))
    assertTypedError(outcome, 'ERR_IPNS_RECORD')
    assert.equal((outcome.error as { problem: string }).problem, 'too-deep')
    assert.equal(gateway.seen.length - before, 32)
  })

  it('a value that is no content path is refused: malformed', async () => {
    current = marshalIPNSRecord(await createIPNSRecord(key, '/not-a-namespace/x', 3n, 3_600_000))
    const outcome = await withinBudget('odd value', () => store.resolveName(name))
    assertTypedError(outcome, 'ERR_IPNS_RECORD')
    assert.equal((outcome.error as { problem: string }).problem, 'malformed')
  })

  it('names that are not IPNS names are refused at the call with ERR_INVALID_ARGUMENT', async () => {
    for (const bad of [
      '/ipns/',
      '/ipns/example.org',
      `/ipns/${root}`,
      '/ipns/k51qzi5uqu5d!',
      `${name}/a/b`,
      'x'.repeat(2000),
    ]) {
      const error = await store.resolveName(bad).then(
        () => undefined,
        (e: unknown) => e,
      )
      assert.ok(isHamtError(error, 'ERR_INVALID_ARGUMENT'), `${bad.slice(0, 40)}: ${String(error)}`)
    }
    const property = fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
      assertTypedError(await outcomeOf(() => HAMT.open(`/ipns/${text}`, { store })))
    })
    await withinBudget('200 random names', () => fc.assert(property, { seed, numRuns: 200 }))
  })
})

async function outcomeOf<T>(run: () => Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return run().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
}
