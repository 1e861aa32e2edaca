// Follow-ups of the "a decoder that worked refused one whole frame" rule (d4adba1): a failure of the
// decoder itself (a worker thread gone, the pool closed) must not blame the frame, and frames without a
// declared size must still decode once numcodecs (the reference) is no longer asked.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import NumcodecsZstd from 'numcodecs/zstd'
import type * as zarr from 'zarrita'
import { nodeWorkers } from '../src/node/workers.js'
import { type ZstdDecoder, zstdFrameContentSize } from '../src/zarr/zstd.js'
import { registerZstdCodec } from '../src/zstd/node.js'
import { zlibDecoder } from '../src/zstd/zlib.js'
import { zstddecDecoder } from '../src/zstd/zstddec.js'
import { withinBudget } from './helpers/hostile.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { climateField, fastCodec, frameWithoutContentSize } from './helpers/zstd.js'
import { type RefusalsJob, refusalsInChild } from './helpers/zstd-refusals.js'

const seed = testSeed()
const random = mulberry32(seed)
const HANG_GUARD_MS = 120_000
const payload = new Uint8Array(20_000).map(() => Math.floor(random() * 16))
const frame = await new NumcodecsZstd(3).encode(payload)

/** Settles `promise` or fails after the hang guard, so a lost task fails the test instead of hanging it. */
function guarded<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung for ${HANG_GUARD_MS} ms (seed ${seed})`)), HANG_GUARD_MS)
  })
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer))
}

describe('a nodeWorkers failure is not the frame’s', () => {
  it('a worker thread that dies under a pending decode: the frame is decoded anyway', async () => {
    const pool = nodeWorkers({ native: false, threads: 1 })
    try {
      const codec = await fastCodec(pool.zstdDecoder)
      await guarded(Promise.resolve(codec.decode(frame))) // the decoder has worked
      // A mock crash (nothing real kills one thread on demand): the thread is terminated right
      // after it is handed the task, as an out-of-memory or a native fault would end it.
      const post = Worker.prototype.postMessage
      Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
        Worker.prototype.postMessage = post
        post.apply(this, args)
        void this.terminate()
      }
      const got = await guarded(
        Promise.resolve(codec.decode(frame)).then(
          (out) => Buffer.compare(Buffer.from(out), Buffer.from(payload)) === 0,
          (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
        ),
      )
      Worker.prototype.postMessage = post
      assert.equal(got, true)
      // Later decodes still work (in this thread, as no thread is left).
      const again = await guarded(Promise.resolve(codec.decode(frame)))
      assert.equal(again.length, payload.length)
    } finally {
      await pool.close()
    }
  })

  it('a decode or hash after close() is a typed error naming the closed pool, not a corrupt frame', async () => {
    const pool = nodeWorkers({ native: false, threads: 1 })
    const codec = await fastCodec(pool.zstdDecoder)
    await guarded(Promise.resolve(codec.decode(frame)))
    await pool.close()
    for (const attempt of [
      () => codec.decode(frame),
      () => pool.zstdDecoder.decode(frame, payload.length),
      () => pool.blake3Digest(new Uint8Array(100 << 10)),
    ]) {
      const error = await guarded(Promise.resolve().then(attempt)).then(
        () => assert.fail('decoded after close'),
        (error: { code?: string; message: string }) => error,
      )
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT', error.message)
      assert.match(error.message, /nodeWorkers.*closed/)
    }
  })
})

const inChild = (job: RefusalsJob) => refusalsInChild(job, seed)

for (const decoder of ['zstddec', ...(zlibDecoder ? ['node:zlib' as const] : [])] as const) {
  describe(`frames without a declared size after 1,024 reference refusals, ${decoder}`, () => {
    it('a valid unsized frame decodes, and corrupt ones are refused by the decoder itself', async () => {
      const unsized = frameWithoutContentSize(payload.subarray(0, 1000))
      const corrupt = unsized.slice()
      corrupt[6] = (corrupt[6] as number) | 0x04 // the block's type: raw (0) made compressed (2)
      // Two frames are the reference's case: 1,024 of them use up its refusals.
      const twoCorrupt = Uint8Array.from([...corrupt, ...corrupt])
      const job = { decoder, times: 1030, warmUp: frame, after: unsized }
      const used = await inChild({ ...job, inputs: [twoCorrupt, corrupt] })
      assert.deepEqual(
        used.outcomes,
        { 'untyped Error': 1024, ERR_INVALID_VALUE: 1036 },
        JSON.stringify(used.messages),
      )
      assert.equal(used.after, 'decoded 1000')
      const own = await inChild({ ...job, inputs: [corrupt] })
      assert.deepEqual(own.outcomes, { ERR_INVALID_VALUE: 1030 }, JSON.stringify(own.messages))
      assert.match(
        own.messages.ERR_INVALID_VALUE as string,
        new RegExp(`without a declared size refused by ${decoder}`),
      )
      assert.equal(own.after, 'decoded 1000')
      assert.equal(own.encoded, 'encoded true')
    })
  })
}

describe('whole frames without a declared size decode on the fast path, bounded by their blocks', () => {
  const field = climateField(80_000, Math.floor(random() * 2 ** 31)) // 320 KB: several blocks
  const bytes = new Uint8Array(field.buffer)
  const pool = nodeWorkers({ native: false, threads: 1 })
  const nativePool = nodeWorkers()
  const decoders: Record<string, ZstdDecoder> = {
    zstddec: zstddecDecoder,
    ...(zlibDecoder ? { 'node:zlib': zlibDecoder } : {}),
    'nodeWorkers (wasm threads)': pool.zstdDecoder,
    nodeWorkers: nativePool.zstdDecoder,
  }
  for (const [name, decoder] of Object.entries(decoders)) {
    it(`through ${name}, without loading the reference`, async () => {
      const cliFrame = await pipeThrough(bytes)
      let loads = 0
      type Loader = NonNullable<ReturnType<typeof zarr.registry.get>>
      const reference: Loader = async () => {
        loads++
        return (await import('numcodecs/zstd')).default as never
      }
      const codecs: typeof zarr.registry = new Map([['zstd', reference]])
      registerZstdCodec({ decoder }, codecs)
      const codec = (await (codecs.get('zstd') as Loader)()).fromConfig({ level: 3 }, {} as never)
      const raw = payload.subarray(0, 5000)
      assert.deepEqual(await guarded(Promise.resolve(codec.decode(frameWithoutContentSize(raw)))), raw)
      const out = await guarded(Promise.resolve(codec.decode(cliFrame)))
      assert.ok(Buffer.compare(Buffer.from(out), Buffer.from(bytes)) === 0, `seed ${seed}`)
      assert.equal(loads, 0)
    })
  }
  // Empty compressed blocks (raw literals of 0 bytes, 0 sequences) count 128 KiB each toward the bound.
  const emptyBlocks = (count: number) => {
    const block = [(2 << 3) | (2 << 1), 0, 0, 0, 0] // compressed, 2 bytes: literals header, sequence count
    const last = [(1 << 3) | 1, 0, 0, 42] // a raw block of one byte, last
    return Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, ...Array(count).fill(block).flat(), ...last])
  }
  const inThread = nodeWorkers({ native: false, threads: 0 })
  for (const [name, decoder] of Object.entries({
    ...decoders,
    'nodeWorkers (no threads)': inThread.zstdDecoder,
  })) {
    it(`through ${name}: 40 KB bounding 1 GiB of output decodes its one byte within budget`, async () => {
      const codec = await fastCodec(decoder)
      const result = await withinBudget(name, () => codec.decode(emptyBlocks(8000)))
      assert.deepEqual(result, { value: Uint8Array.of(42) })
    })
  }

  it('closes the pools', async () => {
    await inThread.close()
    await Promise.all([pool.close(), nativePool.close()])
  })
})

/** `bytes` compressed by the zstd CLI reading stdin: it writes no content size, as streaming encoders do. */
async function pipeThrough(bytes: Uint8Array): Promise<Uint8Array> {
  const child = spawn('zstd', ['-q', '-c', '-3'])
  const parts: Buffer[] = []
  child.stdout.on('data', (part: Buffer) => parts.push(part))
  const done = new Promise((resolve, reject) => child.on('close', resolve).on('error', reject))
  child.stdin.end(bytes)
  await done
  const frame = new Uint8Array(Buffer.concat(parts))
  assert.equal(zstdFrameContentSize(frame), undefined, 'the CLI wrote no content size')
  return frame
}
