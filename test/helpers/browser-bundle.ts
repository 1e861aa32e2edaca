// The package's browser entries bundled by esbuild (platform browser, as an app's bundler would) and
// opened in a Chromium page as `globalThis.lib`, for tests that drive the library itself in the page;
// and the page's memory as CDP reports it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { CDPSession, Page } from 'playwright-core'
import type * as Dataset from '../../src/dataset.js'
import type * as Core from '../../src/index.js'
import type * as Zstd from '../../src/zstd/index.js'
import { type Browser, launchChromium, type StaticServer, serveStatic } from './browser.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** What the page holds as `globalThis.lib`: the entries `ts-hamt`, `ts-hamt/dataset`, `ts-hamt/zstd`. */
export interface PageLibrary {
  core: typeof Core
  dataset: typeof Dataset
  zstd: typeof Zstd
}

export interface LibraryPage {
  readonly page: Page
  /** The page's origin, e.g. `http://127.0.0.1:40125` (serves only the bundle). */
  readonly url: string
  close(): Promise<void>
}

/** Bundles the entries, serves them on loopback and opens a Chromium page with `lib` loaded. */
export async function openLibraryPage(waitMs: number): Promise<LibraryPage> {
  const dir = await mkdtemp(join(tmpdir(), 'ts-hamt-browser-bundle-'))
  let site: StaticServer | undefined
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    await browser?.close()
    await site?.close()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const entry = join(dir, 'entry.ts')
    // Each entry as a namespace: their export names overlap.
    await writeFile(
      entry,
      [
        `export * as core from '${repo}src/index.ts'`,
        `export * as dataset from '${repo}src/dataset.ts'`,
        `export * as zstd from '${repo}src/zstd/index.ts'`,
      ].join('\n'),
    )
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'lib.js'),
      logLevel: 'warning',
    })
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>ts-hamt</title>')
    site = await serveStatic(dir)
    browser = await launchChromium()
    const page = await browser.context.newPage()
    page.setDefaultTimeout(waitMs)
    await page.goto(`${site.url}/index.html`)
    await page.evaluate(async () => {
      ;(globalThis as unknown as { lib: unknown }).lib = await import('/lib.js' as string)
    })
    return { page, url: site.url, close }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * The peak of the page's JS heap plus its ArrayBuffer backing stores (CDP `Runtime.getHeapUsage`:
 * `JSHeapUsedSize` alone misses the bytes of typed arrays) over `run`, above the level before it.
 * Sampled every 25 ms, at most 2,000 times.
 */
export async function peakMemoryDuring<T>(
  page: Page,
  run: () => Promise<T>,
): Promise<{ result: T; grewBy: number }> {
  const client: CDPSession = await page.context().newCDPSession(page)
  const used = async (): Promise<number> => {
    const usage = (await client.send('Runtime.getHeapUsage')) as {
      usedSize: number
      backingStorageSize?: number
    }
    return usage.usedSize + (usage.backingStorageSize ?? 0)
  }
  try {
    await client.send('HeapProfiler.collectGarbage')
    const before = await used()
    let peak = before
    let done = false
    const sampling = (async () => {
      for (let i = 0; i < 2_000 && !done; i++) {
        peak = Math.max(peak, await used())
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    })()
    const result = await run().finally(() => {
      done = true
    })
    await sampling
    return { result, grewBy: peak - before }
  } finally {
    await client.detach()
  }
}
