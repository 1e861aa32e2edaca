// KuboStore.hasBlock asks Kubo whether its repo holds a block (RPC `block/stat`, offline) instead of
// downloading it through the gateway (up to 4 MiB per present link in importCar's completeness
// check); an answer that does not say so for this block is a StoreError, never a yes. Real Kubo.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { blake3Hasher, loadBlake3 } from '../src/blocks.js'
import { isHamtError, KuboStore } from '../src/index.js'
import { startKubo } from './helpers/kubo.js'
import { testSeed } from './helpers/random.js'

await loadBlake3()
const daemon = await startKubo()
after(() => daemon.stop())
const seed = testSeed()
const rawCid = (bytes: Uint8Array) => CID.createV1(0x55, blake3Hasher.digest(bytes))
const block = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 131 + seed + (i >> 9)) & 255)

/** A fetch that records every request's path, and answers some itself. */
function recordingFetch(answer?: (url: URL) => Response | undefined) {
  const paths: string[] = []
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input))
    paths.push(url.pathname)
    return answer?.(url) ?? fetch(input, init)
  }
  return { paths, fetch: fetchFn as typeof globalThis.fetch }
}

describe('KuboStore.hasBlock', () => {
  it('answers for a present block without reading it through the gateway, and false for a missing one', async () => {
    const writer = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, writeBufferBytes: 0 })
    const cid = rawCid(block)
    await writer.putBlock(cid, block)
    const { paths, fetch } = recordingFetch()
    const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, fetch })
    assert.equal(await store.hasBlock(cid), true)
    assert.equal(await store.hasBlock(rawCid(Uint8Array.of(seed & 255, 1, 2))), false)
    assert.deepEqual(
      paths.filter((path) => path.startsWith('/ipfs/')),
      [],
      `seed ${seed}: the gateway was asked for a block (${paths.join(', ')})`,
    )
  })

  it('a daemon online with no peers answers false for a missing block, not after searching the network', async () => {
    const online = await startKubo({ offline: false })
    try {
      // A read of a block no peer has waits for the request timeout: 2 s, no retry, then an error.
      const store = new KuboStore({
        rpcUrl: online.rpcUrl,
        gateways: online.gatewayUrl,
        timeoutMs: 2000,
        retries: 0,
      })
      assert.equal(await store.hasBlock(rawCid(Uint8Array.of(seed & 255, 3))), false)
    } finally {
      await online.stop()
    }
  })

  it('an answer that is not a yes for this block is a StoreError, never true', async () => {
    const cid = rawCid(Uint8Array.of(seed & 255, 4))
    const other = rawCid(Uint8Array.of(5))
    const answers: Array<[string, () => Response]> = [
      ['another block’s stat', () => Response.json({ Key: String(other), Size: 1 })],
      ['a proxy’s page', () => new Response('<html>ok</html>')],
      ['no Key', () => Response.json({ Size: 1 })],
      [
        'another failure',
        () => Response.json({ Message: 'permission denied', Code: 0, Type: 'error' }, { status: 500 }),
      ],
    ]
    for (const [what, answer] of answers) {
      const { fetch } = recordingFetch((url) =>
        url.pathname === '/api/v0/block/stat' ? answer() : undefined,
      )
      const store = new KuboStore({ rpcUrl: daemon.rpcUrl, gateways: daemon.gatewayUrl, fetch })
      await assert.rejects(
        store.hasBlock(cid),
        (error: unknown) => isHamtError(error) && error.code === 'ERR_STORE',
        what,
      )
    }
  })
})
