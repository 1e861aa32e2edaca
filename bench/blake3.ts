// Which BLAKE3 implementation should hash HAMT keys (short) and blocks (~300 B – 1 MiB)?
// Measures each candidate in the same run and cross-checks their digests.
// The native @napi-rs/blake-hash was also measured once (2026-11-25): ~2000 ns for 8-24 B inputs (8x
// slower than hash-wasm; the N-API call dominates), 7x faster at 1 MiB. Node-only, and npm 11 wrote a
// lock file for its optional platform packages that its own `npm ci` then rejected, so it was dropped.
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'

const wasm = await createBLAKE3(256)
const candidates: Record<string, (data: Uint8Array) => Uint8Array> = {
  'hash-wasm': (data) => {
    wasm.init()
    wasm.update(data)
    return wasm.digest('binary')
  },
  '@noble/hashes': (data) => nobleBlake3(data),
}

const sizes = [8, 24, 300, 4096, 1 << 20]
const results: Record<string, Record<number, number>> = {}
for (const size of sizes) {
  const inputs = Array.from({ length: 64 }, (_, i) => {
    const input = new Uint8Array(size)
    for (let j = 0; j < size; j++) input[j] = (i * 31 + j * 7) & 255
    return input
  })
  const reference = Buffer.from(candidates['@noble/hashes']!(inputs[0]!)).toString('hex')
  for (const [name, hash] of Object.entries(candidates)) {
    if (Buffer.from(hash(inputs[0]!)).toString('hex') !== reference) throw new Error(`${name} disagrees`)
    const budgetBytes = 64 << 20
    const rounds = Math.max(200, Math.floor(budgetBytes / size))
    for (let i = 0; i < rounds / 10; i++) hash(inputs[i & 63]!)
    const start = process.hrtime.bigint()
    for (let i = 0; i < rounds; i++) hash(inputs[i & 63]!)
    const ns = Number(process.hrtime.bigint() - start) / rounds
    results[name] ??= {}
    results[name][size] = ns
  }
}
console.log('ns per hash (lower is better)')
console.log(['candidate', ...sizes.map((s) => `${s} B`)].join('\t'))
for (const [name, row] of Object.entries(results)) {
  console.log([name, ...sizes.map((s) => row[s]!.toFixed(0))].join('\t'))
}
