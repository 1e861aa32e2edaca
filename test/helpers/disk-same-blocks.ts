// A child process that writes the same blocks as its parent into one DiskStore directory: it puts
// `count` blocks of 1 MiB (made from `seed`) once each, then prints how many puts failed and why.
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { DiskStore } from '../../src/node/index.js'

/** Block `i` of a run: 1 MiB from the seed, raw, sha2-256. */
export async function sameBlock(seed: number, i: number): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = new Uint8Array(1 << 20)
  for (let at = 0; at < bytes.length; at++) bytes[at] = (at * 7 + seed + i * 131 + (at >> 10)) & 255
  return { cid: CID.createV1(0x55, await sha256.digest(bytes)), bytes }
}

if (process.argv[1]?.endsWith('disk-same-blocks.ts')) {
  const [directory, seed, count] = process.argv.slice(2)
  const store = await DiskStore.open(directory as string)
  const failures: string[] = []
  process.stdout.write(`ready ${process.pid}\n`)
  for (let i = 0; i < Number(count); i++) {
    const { cid, bytes } = await sameBlock(Number(seed), i)
    await store.blockstore.put(cid, bytes).catch((error: unknown) => failures.push(String(error)))
  }
  process.stdout.write(`${JSON.stringify({ failures: failures.length, first: failures[0] })}\n`)
}
