import { readdir, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { RunControl } from './context.js'

/** The name `exportCarFile` writes `path` under until the file is complete (its naming, restated). */
export function partialPath(path: string, pid = process.pid): string {
  return `${path}.partial-${pid}`
}

/**
 * Removes the `path.partial-<pid>` files next to `path` that runs killed before they could clean up
 * left behind: those whose process is gone (a file with this process's pid predates it). Returns them.
 */
export async function removeStalePartials(path: string): Promise<string[]> {
  const directory = dirname(path)
  const prefix = `${basename(path)}.partial-`
  let names: string[]
  try {
    names = await readdir(directory)
  } catch {
    return [] // No directory, no leftovers; the write itself reports the problem.
  }
  const removed: string[] = []
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length) : ''
    if (!/^[1-9]\d*$/.test(pid) || (Number(pid) !== process.pid && isRunning(Number(pid)))) continue
    await rm(join(directory, name), { force: true })
    removed.push(join(directory, name))
  }
  return removed
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Writes `content` to `path` as exportCarFile writes a CAR: under a partial name, renamed once
 * complete, so neither a failure nor a signal leaves a truncated file under the real name.
 */
export async function writeWholeFile(
  control: RunControl,
  path: string,
  content: string | Uint8Array,
): Promise<void> {
  await removeStalePartials(path)
  const partial = partialPath(path)
  const forget = control.removeOnStop(partial)
  try {
    await writeFile(partial, content, { signal: control.signal })
    await rename(partial, path)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  } finally {
    forget()
  }
}
