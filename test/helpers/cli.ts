import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** The `ts-hamt` binary as the package ships it (dist/cli/main.js); `npm test` builds it first. */
export const cliBinary = join(repo, 'dist/cli/main.js')

/** Builds dist/ when a test file runs on its own before any build. */
export async function ensureCliBuilt(): Promise<void> {
  if (existsSync(cliBinary)) return
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repo, timeout: 300_000 })
}
