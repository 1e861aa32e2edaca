// An outsider's UnixFS files, read by us and by a real Kubo's `cat` from the same blocks: every read
// gives Kubo's bytes or a typed error, never other bytes (a reader silently short of the file is worse
// than one that refuses it).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { type KuboDaemon, startKubo } from './helpers/kubo.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { type Block, RAW, storesOver } from './helpers/unixfs.js'

const random = mulberry32(testSeed())
let daemon: KuboDaemon

before(async () => {
  daemon = await startKubo()
})
after(() => daemon?.stop())

// SHA-256 blocks, which Kubo's `block/put` labels the same way.
async function sha(code: number, bytes: Uint8Array): Promise<Block> {
  return { cid: CID.createV1(code, await sha256.digest(bytes)), bytes }
}

function fileNode(children: Block[], blockSizes: number[], data?: Uint8Array): Promise<Block> {
  const Data = new UnixFS({ type: 'file', blockSizes: blockSizes.map(BigInt), data }).marshal()
  const Links = children.map(({ cid }) => ({ Hash: cid, Name: '', Tsize: 0 }))
  return sha(dagPb.code, dagPb.encode({ Data, Links }))
}

async function kuboCat(blocks: Block[], root: CID): Promise<Uint8Array> {
  for (const { cid, bytes } of blocks) {
    const form = new FormData()
    form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]))
    const codec = cid.code === RAW ? 'raw' : 'dag-pb'
    const put = await fetch(`${daemon.rpcUrl}/api/v0/block/put?cid-codec=${codec}&mhtype=sha2-256`, {
      method: 'POST',
      body: form,
    })
    assert.equal(((await put.json()) as { Key: string }).Key, cid.toString())
  }
  const cat = await fetch(`${daemon.rpcUrl}/api/v0/cat?arg=${root}`, { method: 'POST' })
  assert.ok(cat.ok, `kubo cat ${root}: ${cat.status}`)
  return new Uint8Array(await cat.arrayBuffer())
}

describe('UnixFS sizes that lie, against Kubo', () => {
  it('a child claimed to hold 0 bytes that holds some is refused, wherever it sits (Kubo reads its bytes)', async () => {
    for (let round = 0; round < 4; round++) {
      const leaves: Block[] = []
      for (let i = 0; i < 2 + Math.floor(random() * 4); i++) {
        const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 40) }, () => random() * 256)
        leaves.push(await sha(RAW, bytes))
      }
      // The first one, then one at random: the first starts where a read starts.
      const liar = round === 0 ? 0 : Math.floor(random() * leaves.length)
      const sizes = leaves.map((leaf, i) => (i === liar ? 0 : leaf.bytes.length))
      const root = await fileNode(leaves, sizes)
      const kubo = await kuboCat([...leaves, root], root.cid)
      assert.deepEqual(kubo, Uint8Array.from(leaves.flatMap((leaf) => [...leaf.bytes])))
      for (const [storeName, store] of await storesOver([...leaves, root])) {
        const outcome = await withinBudget(`${storeName}: liar at ${liar} of ${leaves.length}`, () =>
          store.load(root.cid),
        )
        assertTypedError(outcome, 'ERR_INVALID_NODE')
      }
    }
  })
})

describe('UnixFS nodes that readers disagree on, against Kubo', () => {
  it('a node with both its own data and children is refused (Kubo skips the data; a reader that reads it gives other bytes)', async () => {
    const leaves: Block[] = []
    for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
      leaves.push(
        await sha(
          RAW,
          Uint8Array.from({ length: 1 + Math.floor(random() * 20) }, () => random() * 256),
        ),
      )
    }
    const data = Uint8Array.from({ length: 1 + Math.floor(random() * 20) }, () => random() * 256)
    const root = await fileNode(
      leaves,
      leaves.map((leaf) => leaf.bytes.length),
      data,
    )
    const kubo = await kuboCat([...leaves, root], root.cid)
    assert.deepEqual(kubo, Uint8Array.from(leaves.flatMap((leaf) => [...leaf.bytes])))
    for (const [storeName, store] of await storesOver([...leaves, root])) {
      for (const range of [undefined, { offset: 0, length: 1 }, { suffix: 1 }]) {
        const outcome = await withinBudget(`${storeName}: data and children`, () =>
          store.load(root.cid, { range }),
        )
        assertTypedError(outcome, 'ERR_INVALID_NODE')
      }
    }
  })
})
