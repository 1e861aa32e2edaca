import { HamtError } from '../errors.js'
import { describeSystemError, systemErrorOf } from '../util/system-error.js'

/** Where a command's results go: text for people, or one JSON document with `--json`. */
export interface Output {
  readonly json: boolean
  /** A line of text (ignored with --json). */
  line(text: string): void
  /** The command's result: printed as JSON with --json, else by `text`; on stderr when stdout holds a file's bytes. */
  result(value: unknown, text?: (value: unknown) => string, options?: { stderr?: boolean }): void
  /** Progress on stderr: a bar when the total is known, a counter otherwise. No-op unless enabled. */
  progress(label: string): Progress
}

export interface Progress {
  update(done: number, total?: number, detail?: string): void
  done(): void
}

export function makeOutput(
  json: boolean,
  showProgress: boolean,
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Output {
  return {
    json,
    line(text) {
      if (!json) stdout.write(`${text}\n`)
    },
    result(value, text, options) {
      const to = options?.stderr === true ? stderr : stdout
      if (json) to.write(`${toJson(value, 2)}\n`)
      else to.write(`${text === undefined ? String(value) : text(value)}\n`)
    },
    progress(label) {
      if (!showProgress) return { update() {}, done() {} }
      let last = 0
      let shown = ''
      const draw = (done: number, total?: number, detail?: string): void => {
        const bar =
          total !== undefined && total > 0
            ? `[${'#'.repeat(Math.round((done / total) * 24)).padEnd(24, '.')}] ${done}/${total}`
            : `${done}`
        shown = `\r${label} ${bar}${detail ? ` ${detail}` : ''}`
        stderr.write(shown)
      }
      return {
        update(done, total, detail) {
          const now = Date.now()
          if (now - last < 100 && done !== total) return
          last = now
          draw(done, total, detail)
        },
        done() {
          if (shown !== '') stderr.write('\n')
        },
      }
    },
  }
}

/**
 * JSON for IPLD values: bytes as `{"/":{"bytes":base64}}` and CIDs as `{"/":cid}`, as DAG-JSON writes
 * them, bigints as text. Converted first, then stringified plain: a replacer costs V8 so much stack per
 * level that a value nested 3,000 deep, which `set --type json` stores and the decoder reads, overflowed.
 */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(plainJson(value), null, indent)
}

function plainJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { '/': { bytes: Buffer.from(value).toString('base64') } }
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(plainJson)
  // CIDs serialise themselves as {"/": "bafy…"} (their toJSON).
  const own = value as { toJSON?: () => unknown }
  if (typeof own.toJSON === 'function') return own.toJSON()
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainJson(item)]))
}

/** An error as the CLI reports it: a stable `code`, a message, and the errno and path of an fs failure. */
export interface ErrorReport {
  /** The ts-hamt code (`ERR_…`), the errno code of a bare system error (`ENOENT`), else `ERR_UNEXPECTED`. */
  code: string
  message: string
  /** The system error code found in the error or its causes (`ENOENT`, `EACCES`, `ENOSPC`…). */
  errno?: string
  /** The file the failed system call was about. */
  path?: string
}

export function describeError(error: unknown): ErrorReport {
  const system = systemErrorOf(error)
  const fs =
    system === undefined
      ? {}
      : { errno: system.code as string, ...(system.path ? { path: system.path } : {}) }
  if (error instanceof HamtError) return { code: error.code, message: error.message, ...fs }
  if (system !== undefined && system === error) {
    return { code: system.code as string, message: describeSystemError(system), ...fs }
  }
  return { code: 'ERR_UNEXPECTED', message: error instanceof Error ? error.message : String(error), ...fs }
}

/** The line (or JSON document, with `--json`) that reports a failed command on stderr. */
export function formatError(report: ErrorReport, json: boolean): string {
  if (json) return JSON.stringify({ error: report })
  // A system error's message already ends with its errno code: name each code once.
  const codes = [...new Set([report.code, report.errno])].filter(
    (code) => code !== undefined && !report.message.endsWith(`(${code})`),
  )
  return codes.length === 0
    ? `ts-hamt: ${report.message}`
    : `ts-hamt: ${report.message} (${codes.join(', ')})`
}
