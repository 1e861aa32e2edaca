// Kubo's RPC answers, checked: an answer that is not what Kubo sends (a wrong `rpcUrl`, a proxy's
// page, a broken or hostile daemon) is a StoreError, never a TypeError or a value taken on trust.
import { CID } from 'multiformats/cid'
import { code as rawCode } from 'multiformats/codecs/raw'
import { StoreError } from '../errors.js'
import type { BufferedBlock } from './block-buffer.js'
import { readBody } from './http-body.js'

/** A JSON object (not an array, not null). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The most an answer of RPC `command` may be; the rest is not read. Kubo (v0.43) answers the commands
 * used here with one small JSON object (a CID or two, a name, a path: under 1 KiB), but a pin
 * listing (~100 bytes a pin).
 */
export function rpcAnswerBytes(command: string): number {
  return command === 'pin/ls' ? 64 << 20 : 64 << 10
}

export async function readJson(response: Response, limit: number, source: string): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await readBody(response, limit, source)))
}

/**
 * A `dag/import` answer must account for what was sent: Kubo (v0.43) ends it with
 * `{"Stats":{"BlockCount":n,"BlockBytesCount":b}}` for the CAR's blocks and, when pinning, names
 * each root with an empty `PinErrorMsg`. Any other 2xx body (a wrong `rpcUrl`, a proxy's page) is
 * not an import, and the blocks stay buffered.
 */
export function checkImportAnswer(answer: string, blocks: readonly BufferedBlock[], pinned: boolean): void {
  const invalid = (why: string): StoreError =>
    new StoreError(`dag/import ${why}: ${JSON.stringify(answer.slice(0, 300))}`)
  type Line = {
    Stats?: { BlockCount?: unknown; BlockBytesCount?: unknown }
    Root?: { Cid?: { '/'?: unknown }; PinErrorMsg?: unknown }
  }
  let lines: Line[]
  try {
    lines = answer
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Line)
  } catch {
    throw invalid('answered something other than Kubo’s JSON lines')
  }
  const stats = lines.find((line) => line?.Stats !== undefined)?.Stats
  const bytes = blocks.reduce((total, block) => total + block.bytes.length, 0)
  if (stats?.BlockCount !== blocks.length || stats.BlockBytesCount !== bytes) {
    throw invalid(`did not report importing the ${blocks.length} blocks (${bytes} bytes) sent`)
  }
  if (!pinned) return
  const failed = lines.find((line) => line?.Root !== undefined && line.Root.PinErrorMsg !== '')
  if (failed !== undefined) throw invalid('could not pin')
  const named = new Set(lines.map((line) => String(line?.Root?.Cid?.['/'])))
  for (const { cid } of blocks) {
    if (!named.has(String(CID.createV1(rawCode, cid.multihash))))
      throw invalid(`did not pin every block sent`)
  }
}

/** The pins of a `pin/ls` answer, `{"Keys":{"<cid>":{"Type":"recursive"}}}` (no `Keys`: none). */
export function pinsOf(answer: unknown): Array<{ cid: CID; type: string }> {
  const keys = isRecord(answer) ? (answer.Keys ?? {}) : undefined
  const invalid = (cause?: unknown): StoreError =>
    new StoreError(`pin/ls answered ${JSON.stringify(answer)?.slice(0, 300)}`, { cause })
  if (!isRecord(keys)) throw invalid()
  return Object.entries(keys).map(([cid, pin]) => {
    const type = isRecord(pin) ? pin.Type : undefined
    if (typeof type !== 'string') throw invalid()
    try {
      return { cid: CID.parse(cid), type }
    } catch (cause) {
      throw invalid(cause)
    }
  })
}
