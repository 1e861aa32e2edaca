// Two real Helia nodes on loopback libp2p (TCP, noise, yamux): a map written into node A's
// blockstore is read by node B, which fetches every block from A over bitswap. BLAKE3 is
// registered as a hasher on both, since Helia verifies blocks it receives.
import './helpers/with-resolvers.js'
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createHeliaLight } from 'helia'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { BlockstoreStore, HAMT, ZarrHAMTStore } from '../src/index.js'
import { readVariable, writeClimate } from './helpers/climate.js'

await loadBlake3()

// Helia's createHelia() adds HTTP gateways, delegated routing and public bootstrap peers; this
// node gets loopback TCP and bitswap only, so B asks the peers it is connected to and nothing
// leaves the machine.
async function loopbackHelia() {
  const light = createHeliaLight({ hashers: [blake3Hasher] })
  const helia = withBitswap(
    withLibp2pLight(light, {
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    }),
  )
  await helia.start()
  return helia
}
type LoopbackHelia = Awaited<ReturnType<typeof loopbackHelia>>

describe('Helia peer to peer', () => {
  const nodes: LoopbackHelia[] = []
  after(async () => {
    for (const node of nodes) await node.stop()
  })

  // Bounded: a bitswap stall fails the test instead of hanging the run.
  it('a map and a Zarr dataset written into one Helia node read in full from a second one over bitswap', {
    timeout: 180_000,
  }, async () => {
    const a = await loopbackHelia()
    const b = await loopbackHelia()
    nodes.push(a, b)
    const writer = new BlockstoreStore(a.blockstore)
    const map = await HAMT.create<unknown>({ store: writer })
    const expected = new Map<string, unknown>()
    for (let i = 0; i < 400; i++) expected.set(`key-${i}`, { i, text: `value ${i}` })
    expected.set(
      'big',
      Uint8Array.from({ length: (1 << 20) + 100 }, (_, i) => i & 255),
    )
    for (const [key, value] of expected) await map.set(key, value)
    const root = await map.flush()

    const zarrMap = await HAMT.create<Uint8Array>({ store: writer, valuesAreBytes: true })
    const written = await writeClimate(new ZarrHAMTStore(zarrMap))
    const zarrRoot = await zarrMap.flush()

    const bStore = new BlockstoreStore(b.blockstore)
    assert.equal(await bStore.hasBlock(root as never), false, 'B starts without the blocks')
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0] as never, { signal: AbortSignal.timeout(10_000) })

    const reader = await HAMT.open<unknown>(root, { store: bStore, readOnly: true })
    assert.equal(await reader.size({ signal: AbortSignal.timeout(30_000) }), expected.size)
    for (const [key, value] of expected) assert.deepEqual(await reader.get(key), value, key)
    assert.deepEqual((await reader.verify()).problems, [])

    const zarrReader = new ZarrHAMTStore(
      await HAMT.open<Uint8Array>(zarrRoot, { store: bStore, readOnly: true, valuesAreBytes: true }),
    )
    for (const name of Object.keys(written)) {
      assert.deepEqual(await readVariable(zarrReader, name), written[name], name)
    }
    assert.equal(await bStore.hasBlock(root as never), true, 'B now holds the blocks it fetched')
  })
})
