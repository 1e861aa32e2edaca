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
  // On a terminal, a stranger's keys and values are shown escaped (as `ls` does); pipes get them exact.
  const shown = (to: NodeJS.WritableStream, text: string, keep: string): string =>
    (to as { isTTY?: boolean }).isTTY === true ? terminalText(text, keep) : text
  return {
    json,
    line(text) {
      if (!json) stdout.write(`${shown(stdout, text, '\t')}\n`)
    },
    result(value, text, options) {
      const to = options?.stderr === true ? stderr : stdout
      if (json) to.write(`${toJson(value, 2)}\n`)
      else to.write(`${shown(to, text === undefined ? String(value) : text(value), '\n\t')}\n`)
    },
    progress(label) {
      if (!showProgress) return { update() {}, done() {} }
      let last = 0
      let drawn = ''
      const draw = (done: number, total?: number, detail?: string): void => {
        const bar =
          total !== undefined && total > 0
            ? `[${'#'.repeat(Math.round((done / total) * 24)).padEnd(24, '.')}] ${done}/${total}`
            : `${done}`
        drawn = `\r${terminalText(`${label} ${bar}${detail ? ` ${detail}` : ''}`)}`
        stderr.write(drawn)
      }
      return {
        update(done, total, detail) {
          const now = Date.now()
          if (now - last < 100 && done !== total) return
          last = now
          draw(done, total, detail)
        },
        done() {
          if (drawn !== '') stderr.write('\n')
        },
      }
    },
  }
}

/**
 * JSON for IPLD values: bytes as `{"/":{"bytes":base64}}` and CIDs as `{"/":cid}`, as DAG-JSON writes
 * them, bigints as text; otherwise what `JSON.stringify(value, null, indent)` writes, to a depth of
 * {@link INDENTED_DEPTH} (deeper members compact: the same JSON value, in linear space). Written without
 * recursion: JSON.stringify and any recursive walk overflow the stack on values nested a few thousand
 * deep, which `set --type json` stores and the decoder reads.
 */
export function toJson(value: unknown, indent = 0): string {
  const out: string[] = []
  // What is left to write, last first: a value at a depth, or text (separators, keys, brackets).
  const todo: ({ value: unknown; depth: number } | string)[] = [{ value, depth: 0 }]
  // Indented to INDENTED_DEPTH only, deeper on one line: each level's indentation is a line's, so
  // indenting all of a value n deep writes ~n² spaces (5 GB at 50,000, more than a string holds).
  const margins = Array.from({ length: indent > 0 ? INDENTED_DEPTH + 1 : 0 }, (_, depth) =>
    depth === 0 ? '\n' : `\n${' '.repeat(indent * depth)}`,
  )
  const newline = (depth: number): string => margins[depth] ?? ''
  while (todo.length > 0) {
    const step = todo.pop() as { value: unknown; depth: number } | string
    if (typeof step === 'string') {
      out.push(step)
      continue
    }
    const item = plainLeaf(step.value)
    const depth = step.depth
    if (typeof item !== 'object' || item === null) {
      out.push(JSON.stringify(item) ?? 'null')
      continue
    }
    const array = Array.isArray(item)
    // Like JSON.stringify: object members that have no JSON form are left out.
    const entries = array
      ? (item as unknown[]).map((member) => ['', member] as const)
      : Object.entries(item)
          .map(([key, member]) => [key, plainLeaf(member)] as const)
          .filter(([, member]) => !noJson(member))
    const [open, close] = array ? ['[', ']'] : ['{', '}']
    if (entries.length === 0) {
      out.push(open + close)
      continue
    }
    out.push(open)
    todo.push(newline(depth) + close)
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, member] = entries[index] as readonly [string, unknown]
      todo.push({ value: member, depth: depth + 1 })
      const name = array ? '' : `${JSON.stringify(key)}:${indent > 0 ? ' ' : ''}`
      todo.push(`${index === 0 ? '' : ','}${newline(depth + 1)}${name}`)
    }
  }
  return out.join('')
}

/** How deep `toJson` indents; members deeper are written compact, on their parent's line. */
export const INDENTED_DEPTH = 100

/** One value as JSON sees it before looking inside: bytes, bigints and `toJSON` (CIDs) converted; idempotent. */
function plainLeaf(value: unknown): unknown {
  if (value instanceof Uint8Array) return { '/': { bytes: Buffer.from(value).toString('base64') } }
  if (typeof value === 'bigint') return value.toString()
  const own = value as { toJSON?: () => unknown } | null
  if (typeof own?.toJSON === 'function') return own.toJSON()
  return value
}

function noJson(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol'
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

/**
 * The line (or JSON document, with `--json`) that reports a failed command on stderr; `terminal`:
 * whether stderr is one (messages quote keys, paths and server answers: escaped there, exact into a
 * pipe or log, as results are, so a Windows path keeps single backslashes).
 */
export function formatError(report: ErrorReport, json: boolean, terminal = false): string {
  if (json) return JSON.stringify({ error: report })
  // A system error's message already ends with its errno code: name each code once.
  const codes = [...new Set([report.code, report.errno])].filter(
    (code) => code !== undefined && !report.message.endsWith(`(${code})`),
  )
  const message = terminal ? terminalText(report.message, '\n\t') : report.message
  return codes.length === 0 ? `ts-hamt: ${message}` : `ts-hamt: ${message} (${codes.join(', ')})`
}

/** Whether a terminal acts on this UTF-16 unit: C0 controls, DEL, C1 (U+009B is CSI), bidi controls. */
function controlsTerminal(code: number): boolean {
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true
  return (
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  )
}

const NAMED_ESCAPES: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' }

/**
 * `text` with every character a terminal would act on written as an escape (`\x1b`, `\r`, `\u202e`)
 * and `\` as `\\`, except those in `keep` (the newlines between a result's lines), so a stranger's
 * data cannot clear, recolour or retitle the user's terminal, fake lines, or pass a literal `\x1b` as an
 * escaped one. Exact text: `--json`, a pipe, or `--out`.
 */
export function terminalText(text: string, keep = '\t'): string {
  let out = ''
  let from = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    // A backslash doubled: a stranger's literal `\x1b` must not read as one of these escapes.
    if (code === 0x5c) {
      out += `${text.slice(from, index)}\\\\`
      from = index + 1
      continue
    }
    if (!controlsTerminal(code) || keep.includes(text[index] as string)) continue
    const hex = code.toString(16).padStart(code < 0x100 ? 2 : 4, '0')
    out += text.slice(from, index) + (NAMED_ESCAPES[code] ?? (code < 0x100 ? `\\x${hex}` : `\\u${hex}`))
    from = index + 1
  }
  return from === 0 ? text : out + text.slice(from)
}
