/** Where a command's results go: text for people, or one JSON document with `--json`. */
export interface Output {
  readonly json: boolean
  /** A line of text (ignored with --json). */
  line(text: string): void
  /** The command's result: printed as JSON with --json, else by `text`. */
  result(value: unknown, text?: (value: unknown) => string): void
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
    result(value, text) {
      if (json) stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`)
      else stdout.write(`${text === undefined ? String(value) : text(value)}\n`)
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

/** JSON for IPLD values: bytes as `{"/":{"bytes":base64}}` and CIDs as `{"/":cid}`, as DAG-JSON writes them. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { '/': { bytes: Buffer.from(value).toString('base64') } }
  if (typeof value === 'bigint') return value.toString()
  // CIDs serialise themselves as {"/": "bafy…"} (their toJSON) before reaching here.
  return value
}
