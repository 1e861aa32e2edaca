import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** The `ts-hamt` binary as the package ships it (dist/cli/main.js); `npm test` builds it first. */
export const cliBinary = join(repo, 'dist/cli/main.js')

/** Builds dist/ when it is missing or older than the source (a test file run on its own after an edit). */
export async function ensureCliBuilt(): Promise<void> {
  if (existsSync(cliBinary) && statSync(cliBinary).mtimeMs >= newestSource(join(repo, 'src'))) return
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repo, timeout: 300_000 })
}

function newestSource(directory: string): number {
  let newest = 0
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}
