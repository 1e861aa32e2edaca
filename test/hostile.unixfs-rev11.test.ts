// A UnixFS file Kubo itself writes with both data of its own and children: `files cp` of a one-block
// dag-pb file into MFS, then `files write` past its end. Kubo's readers disagree on it (`files stat`
// counts the data, `cat` skips it), so ours refuses it, saying where such a node comes from.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type KuboDaemon, kuboOptions, startKubo } from './helpers/kubo.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { type Block, storesOver } from './helpers/unixfs.js'

const random = mulberry32(testSeed())
let daemon: KuboDaemon

before(async () => {
  daemon = await startKubo()
})
after(() => daemon?.stop())

async function post(command: string, params: string[][], bytes?: Uint8Array): Promise<Response> {
  const form = new FormData()
  if (bytes !== undefined) form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]))
  const url = `${daemon.rpcUrl}/api/v0/${command}?${new URLSearchParams(params)}`
  const response = await fetch(url, { method: 'POST', ...(bytes !== undefined ? { body: form } : {}) })
  assert.ok(response.ok, `${command}: ${response.status} ${await response.clone().text()}`)
  return response
}

const text = (length: number) => Uint8Array.from({ length }, () => 0x61 + Math.floor(random() * 26))

describe('a UnixFS file Kubo writes with data and children', () => {
  it('is refused with a typed error that names Kubo MFS appends, by every store', async () => {
    const first = text(1 + Math.floor(random() * 40))
    const appended = text(1 + Math.floor(random() * 40))
    const params = [
      ['raw-leaves', 'false'],
      ['cid-version', '0'],
      ['pin', 'false'],
    ]
    const added = await post('add', params, first)
    const leaf = ((await added.json()) as { Hash: string }).Hash
    await post('files/cp', [
      ['arg', `/ipfs/${leaf}`],
      ['arg', '/f'],
    ])
    await post(
      'files/write',
      [
        ['arg', '/f'],
        ['offset', String(first.length)],
      ],
      appended,
    )
    const stat = (await (await post('files/stat', [['arg', '/f']])).json()) as { Hash: string; Size: number }
    const root = CID.parse(stat.Hash)
    const blocks: Block[] = [{ cid: root, bytes: await blockOf(root) }]
    const node = dagPb.decode(blocks[0]?.bytes as Uint8Array)
    for (const link of node.Links) blocks.push({ cid: link.Hash, bytes: await blockOf(link.Hash) })
    // The shape, and Kubo's two answers for it: its size counts the data, its cat leaves it out.
    assert.deepEqual(UnixFS.unmarshal(node.Data as Uint8Array).data, first)
    assert.ok(node.Links.length > 0)
    assert.equal(stat.Size, first.length + appended.length)
    const cat = new Uint8Array(await (await post('cat', [['arg', stat.Hash]])).arrayBuffer())
    assert.deepEqual(cat, appended)
    const stores = [...(await storesOver(blocks)), ['kubo', new KuboStore(kuboOptions(daemon))] as const]
    for (const [storeName, store] of stores) {
      for (const range of [undefined, { offset: 0, length: 1 }, { suffix: 1 }]) {
        const outcome = await withinBudget(`${storeName} ${JSON.stringify(range)}`, () =>
          store.load(root, { range }),
        )
        assertTypedError(outcome, 'ERR_INVALID_NODE')
        assert.match((outcome.error as Error).message, /Kubo's MFS/, storeName)
      }
    }
  })
})

async function blockOf(cid: CID): Promise<Uint8Array> {
  return new Uint8Array(await (await post('block/get', [['arg', String(cid)]])).arrayBuffer())
}
