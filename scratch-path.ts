import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { CID } from 'multiformats/cid'
import { startKubo, kuboBinary } from './test/helpers/kubo.js'
import { followContentPath } from './src/cas/content-path.js'
import { KuboStore } from './src/index.js'
import { kuboOptions } from './test/helpers/kubo.js'
const k = await startKubo()
const bin = await kuboBinary()
const dir = mkdtempSync(join(tmpdir(), 'aio-'))
mkdirSync(join(dir, 'd')); mkdirSync(join(dir, 'd', 'a')); mkdirSync(join(dir, 'd', 'b'))
for (const n of ['a b', 'é', '%41', 'A', 'x%2Fy', 'q?x', 'h#1']) writeFileSync(join(dir, 'd', 'b', n), n)
writeFileSync(join(dir, 'd', 'b', 'e\u0301'), 'nfd')
const env = { ...process.env, IPFS_PATH: k.ipfsPath }
const out = execFileSync(bin, ['add', '-r', '-Q', '--cid-version=1', join(dir, 'd')], { env }).toString().trim()
const root = CID.parse(out)
const store = new KuboStore(kuboOptions(k))
const get = store.getBlock.bind(store)
for (const p of ['/b/a b', '/b/a%20b', '/b/%41', '/b/%2541', '/b/A', '/a/../b/A', '/b/./A', '/b//A', '/b/x%2Fy', '/b/x%252Fy', '/b/é', '/b/e\u0301', '/b/%C3%A9', '/b/q?x', '/b/q%3Fx', '/b/h#1']) {
  let kubo: string
  try { kubo = execFileSync(bin, ['resolve', `/ipfs/${root}${p}`], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim() } catch (e: any) { kubo = 'ERR ' + e.stderr.toString().trim().slice(0, 100) }
  const ours = await followContentPath(root, p, get).then((c) => '/ipfs/' + c.toString(), (e) => 'ERR ' + e.code + ' ' + e.message.slice(0, 80))
  console.log(JSON.stringify(p), '\n  kubo', kubo, '\n  ours', ours)
}
await k.stop()
