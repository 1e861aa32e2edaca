// Kubo RPC answers are bounded per command by what Kubo can send for it (session 13 left one 64 MiB
// cap for all): a lying RPC server's long answer to block/stat, a pin or a name command is refused
// typed, naming the command, after reading no more than that command's bound. Loopback servers only:
// a real Kubo cannot be made to lie (tests with real Kubo show its true answers fit: kubo-store, ipns.kubo).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { QUICK_KUBO, sendEndless, serve } from './helpers/loopback.js'

const MiB = 1 << 20
const cid = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('gw15 kubo')))
const other = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('gw15 kubo 2')))
const pad = 'x'.repeat(MiB)

type Call = [command: string, run: (store: KuboStore) => Promise<unknown>]
const calls: Call[] = [
  ['block/stat', (store) => store.hasBlock(cid)],
  ['pin/add', (store) => store.pin(cid)],
  ['pin/rm', (store) => store.unpin(cid)],
  ['pin/update', (store) => store.updatePin(cid, other)],
  [
    'name/resolve',
    (store) => store.resolveName('/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8'),
  ],
  ['key/gen', (store) => store.createKey('gw15')],
  ['name/publish', (store) => store.publishName(cid, { key: 'gw15' })],
]

/** A valid answer of `command`, made 1 MiB long by a field Kubo never sends. */
function padded(command: string): string {
  const answer: Record<string, unknown> = {
    'block/stat': { Key: String(cid), Size: 1 },
    'name/resolve': { Path: `/ipfs/${cid}` },
  }[command] ?? { Pins: [String(cid)] }
  return JSON.stringify({ ...answer, Pad: pad })
}

const commandOf = (url: string | undefined): string => /\/api\/v0\/([^?]+)/.exec(url ?? '')?.[1] ?? ''

describe('Kubo RPC answers are bounded per command', () => {
  it('a valid answer padded to 1 MiB (declared) is ERR_STORE naming its command', async () => {
    const rpc = await serve((req, res) => {
      req.resume()
      const body = padded(commandOf(req.url))
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
      res.end(body)
    })
    const store = new KuboStore({ rpcUrl: rpc.url, ...QUICK_KUBO })
    for (const [command, run] of calls.slice(0, 5)) {
      const outcome = await withinBudget(command, () => run(store))
      assertTypedError(outcome, 'ERR_STORE')
      assert.match(String((outcome.error as Error).message), new RegExp(command), command)
    }
  })

  it('an endless answer to each command is read no further than that command’s bound', async () => {
    const rpc = await serve((req, res) => {
      req.resume()
      sendEndless(res, 256, { 'content-type': 'application/json' })
    })
    const store = new KuboStore({ rpcUrl: rpc.url, ...QUICK_KUBO })
    for (const [command, run] of calls) {
      // 16 MiB: the old shared cap (64 MiB, read whole before it refused) would pass it.
      const outcome = await withinBudget(command, () => run(store), { mib: 16 })
      assertTypedError(outcome, 'ERR_STORE')
      assert.match(String((outcome.error as Error).message), new RegExp(command), command)
    }
  })
})
