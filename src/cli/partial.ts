import { rename, rm, writeFile } from 'node:fs/promises'
import { partialPath, removeStalePartials } from '../util/partial-files.js'
import type { RunControl } from './context.js'

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
