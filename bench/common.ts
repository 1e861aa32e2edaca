// Small pieces every benchmark runner uses.

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] as string) : fallback
}

/** Seconds since a `process.hrtime.bigint()` reading. */
export function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** A right-aligned markdown table, padded as the formatter wants it. */
export function markdownTable(header: string[], body: string[][]): string {
  const length = (cell: string): number => [...cell].length
  const widths = header.map((h, i) => Math.max(3, length(h), ...body.map((row) => length(row[i] ?? ''))))
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => ' '.repeat((widths[i] as number) - length(c)) + c).join(' | ')} |`
  return [line(header), line(widths.map((w) => `${'-'.repeat(w - 1)}:`)), ...body.map(line)].join('\n')
}
