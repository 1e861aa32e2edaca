// Runs as a child process (its own numcodecs instance): many refused zstd frames through the fast codec,
// then what must still work. A child because numcodecs' zstd can hang its thread in WebAssembly.
import { execFile } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { zlibDecoder } from '../../src/zstd/zlib.js'
import { zstddecDecoder } from '../../src/zstd/zstddec.js'
import { fastCodec } from './zstd.js'

export interface RefusalsJob {
  decoder: 'zstddec' | 'node:zlib'
  /** Each input is decoded `times` times in turn; every outcome is counted by its error code or message. */
  inputs: Uint8Array[]
  times: number
  /** Decoded first (a decoder's refusal counts once it has decoded something). */
  warmUp: Uint8Array
  /** Decoded after the refusals: a frame without a declared size (the reference's case). */
  after: Uint8Array
}

export interface RefusalsResult {
  outcomes: Record<string, number>
  /** The first message of each outcome. */
  messages: Record<string, string>
  after: string
  encoded: string
}

/** The job as the test sends it (argv[2]): JSON, each byte array as base64. */
export function encodeJob(job: RefusalsJob): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')
  return JSON.stringify({
    ...job,
    inputs: job.inputs.map(b64),
    warmUp: b64(job.warmUp),
    after: b64(job.after),
  })
}

const HANG_GUARD_MS = 120_000

/** Runs `job` in a child process (its own numcodecs); one still running after the hang guard is killed. */
export async function refusalsInChild(job: RefusalsJob, seed: number): Promise<RefusalsResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/zstd-refusals.ts', encodeJob(job)],
    { timeout: HANG_GUARD_MS, maxBuffer: 1 << 20 },
  ).catch((error: { killed?: boolean }) => {
    throw error.killed ? new Error(`hung for ${HANG_GUARD_MS} ms (seed ${seed})`, { cause: error }) : error
  })
  return JSON.parse(stdout) as RefusalsResult
}

function decodeJob(text: string): RefusalsJob {
  const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'))
  const job = JSON.parse(text) as RefusalsJob & { inputs: string[]; warmUp: string; after: string }
  return { ...job, inputs: job.inputs.map(bytes), warmUp: bytes(job.warmUp), after: bytes(job.after) }
}

// Run only as the child's main module, not when the test imports encodeJob.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run(decodeJob(process.argv[2] ?? ''))

async function run(job: RefusalsJob): Promise<void> {
  const fast = await fastCodec(job.decoder === 'zstddec' ? zstddecDecoder : (zlibDecoder as never))
  const describe = (error: unknown): string =>
    (error as { code?: string }).code ?? `untyped ${(error as Error).constructor?.name}`
  const outcomes: Record<string, number> = {}
  const messages: Record<string, string> = {}
  await fast.decode(job.warmUp)
  for (let i = 0; i < job.times; i++) {
    for (const input of job.inputs) {
      const key = await Promise.resolve(fast.decode(input)).then(
        (out) => `decoded ${out.length}`,
        (error: unknown) => {
          const key = describe(error)
          messages[key] ??= String((error as Error).message)
          return key
        },
      )
      outcomes[key] = (outcomes[key] ?? 0) + 1
    }
  }
  const after = await Promise.resolve(fast.decode(job.after)).then(
    (out) => `decoded ${out.length}`,
    (error: unknown) => `${describe(error)}: ${(error as Error).message}`,
  )
  const encoded = await Promise.resolve(fast.encode(new Uint8Array(1000).fill(3))).then(
    (out) => `encoded ${out.length > 0}`,
    (error: unknown) => `${describe(error)}: ${(error as Error).message}`,
  )
  process.stdout.write(JSON.stringify({ outcomes, messages, after, encoded } satisfies RefusalsResult))
}
