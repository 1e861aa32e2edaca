// The browser viewer (examples/viewer) built by Vite, served on loopback and opened in a real
// headless Chromium: the set-up the viewer's end-to-end tests share.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { build } from 'vite'
import { type Browser, launchChromium, type StaticServer, serveStatic } from './browser.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

export interface ViewerPage {
  readonly page: Page
  /** Where the built viewer is served, e.g. `http://127.0.0.1:40125`. */
  readonly url: string
  /** The build's output folder. */
  readonly buildDir: string
  /** Every URL the page asked for. */
  readonly requested: string[]
  /** Uncaught errors and console errors of the page (a test may clear it after provoking one). */
  readonly pageErrors: string[]
  close(): Promise<void>
}

/** Builds the viewer, serves it, and opens a page on Chromium whose every wait is bounded by `waitMs`. */
export async function openViewerPage(waitMs: number): Promise<ViewerPage> {
  const buildDir = await mkdtemp(join(tmpdir(), 'ts-hamt-viewer-'))
  let server: StaticServer | undefined
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    await browser?.close()
    await server?.close()
    await rm(buildDir, { recursive: true, force: true })
  }
  try {
    await build({
      root: join(repo, 'examples/viewer'),
      logLevel: 'warn',
      build: { outDir: buildDir, emptyOutDir: true },
    })
    server = await serveStatic(buildDir)
    browser = await launchChromium()
    const page = await browser.context.newPage()
    page.setDefaultTimeout(waitMs)
    const requested: string[] = []
    const pageErrors: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })
    return { page, url: server.url, buildDir, requested, pageErrors, close }
  } catch (error) {
    await close()
    throw error
  }
}
