// Runs as a child process started with a WebAssembly memory limit (V8's --wasm-max-mem-pages, as a
// browser or a 32-bit process has one): zstd frames larger than the decoder's memory can hold, then
// small ones, through the fast codec. Prints what each decode gave as JSON.
import { execFile } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { ZSTDDecoder } from 'zstddec'
import { nodeWorkers } from '../../src/node/workers.js'
import { zstddecDecoder } from '../../src/zstd/zstddec.js'
import { fastCodec } from './zstd.js'

/** `zstddec-preloaded`: other code (a user's own import) instantiated zstddec before ts-hamt asked for it. */
export type MemoryDecoder = 'zstddec' | 'zstddec-preloaded' | 'foxglove-here' | 'foxglove-thread'

/** What one decode gave: its error's code and message, or whether its bytes were the frame's. */
export type Outcome = { code?: string; message?: string; length?: number; correct?: boolean }

/** One zstd frame of `size` bytes of `byte` in RLE blocks; its header declares the size unless `sized` is false. */
export function rleFrame(size: number, byte: number, sized = true): Uint8Array {
  // Single segment with a 4-byte content size, or no size and a 2 MiB window (RFC 8878, 3.1.1.1).
  const header = sized ? [0xa0, size & 255, (size >> 8) & 255, (size >> 16) & 255, size >>> 24] : [0x00, 0x58]
  const blocks: number[] = []
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 17)
    left -= n
    const block = (n << 3) | (1 << 1) | (left === 0 ? 1 : 0) // RLE, last or not
    blocks.push(block & 255, (block >> 8) & 255, block >> 16, byte)
  }
  return Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, ...header, ...blocks])
}

const HANG_GUARD_MS = 120_000

/** Runs the child with WebAssembly memories limited to `pages` 64 KiB pages; one still running after the guard is killed. */
export async function decodeUnderLimit(
  decoder: MemoryDecoder,
  pages: number,
  bigSize: number,
): Promise<Outcome[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      `--wasm-max-mem-pages=${pages}`,
      '--import',
      'tsx',
      'test/helpers/zstd-memory.ts',
      decoder,
      String(bigSize),
    ],
    { timeout: HANG_GUARD_MS, maxBuffer: 1 << 20 },
  ).catch((error: { killed?: boolean }) => {
    throw error.killed ? new Error(`hung for ${HANG_GUARD_MS} ms`, { cause: error }) : error
  })
  return JSON.parse(stdout) as Outcome[]
}

// Run only as the child's main module, not when the test imports it.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2] as MemoryDecoder, Number(process.argv[3]))
  process.exit(0) // the worker threads of nodeWorkers would keep the child alive
}

async function run(which: MemoryDecoder, bigSize: number): Promise<void> {
  if (which === 'zstddec-preloaded') await new ZSTDDecoder().init()
  const decoder = which.startsWith('zstddec')
    ? zstddecDecoder
    : nodeWorkers({ native: false, threads: which === 'foxglove-thread' ? 1 : 0 }).zstdDecoder
  const codec = await fastCodec(decoder)
  const outcomes: Outcome[] = []
  const decode = async (frame: Uint8Array, size: number, byte: number) => {
    try {
      const out = await codec.decode(frame)
      outcomes.push({
        length: out.length,
        correct: out.length === size && out.every((b: number) => b === byte),
      })
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string }
      outcomes.push({ code: code ?? `untyped ${(error as Error).constructor?.name}`, message })
    }
  }
  await decode(rleFrame(1000, 1), 1000, 1) // the decoder has worked: its refusals count
  await decode(rleFrame(bigSize, 2), bigSize, 2)
  await decode(rleFrame(bigSize, 3, false), bigSize, 3)
  for (let i = 0; i < 3; i++) await decode(rleFrame(100_000 + i, 4 + i), 100_000 + i, 4 + i)
  process.stdout.write(JSON.stringify(outcomes))
}
