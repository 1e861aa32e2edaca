// Small pieces every benchmark runner uses.
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'

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

/**
 * Bundles a bench script (our sources inlined, packages left to Node) into `bench/.build/<name>.mjs` and
 * returns its path: timed code then runs as plain JavaScript, as users run the package. Under tsx it ran
 * through tsx's resolver and esbuild's `keepNames` (a `__name(...)` call around each named closure made).
 */
export async function bundleForNode(script: string): Promise<string> {
  const repo = fileURLToPath(new URL('..', import.meta.url))
  const outfile = `${repo}bench/.build/${basename(script).replace(/\.ts$/, '.mjs')}`
  await (await import('esbuild')).build({
    entryPoints: [script],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    // package.json's sideEffects names dist/ only: the Node entries' set-up calls must stay.
    ignoreAnnotations: true,
    target: 'node20',
    outfile,
    logLevel: 'warning',
  })
  return outfile
}
