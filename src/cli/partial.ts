import { statSync, writeFileSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { StoreError } from '../errors.js'
import {
  openInPlace,
  partialPath,
  removeStalePartials,
  sameFile,
  wholeFileTarget,
} from '../util/partial-files.js'
import { describeSystemError, systemErrorOf } from '../util/system-error.js'
import { type RunControl, UsageError } from './context.js'

/** `-` as an output file: stdout, as in most CLIs (the summary then goes to stderr). */
export const STDOUT = '-'

/** The file an output option names; an empty name is a usage error naming `what` (`--out`, `FILE`). */
export function outputPath(given: string, what: string): string {
  if (given === '') throw new UsageError(`${what} is empty: give a file path, or - for stdout`)
  return given
}

/**
 * Writes `content` to `path` as exportCarFile writes a CAR: under a partial name, renamed once
 * complete, so neither a failure nor a signal leaves a truncated file under the real name. A device
 * or a pipe (`/dev/stdout`) is written in place; a symlink to a file, through to that file.
 */
export async function writeWholeFile(
  control: RunControl,
  given: string,
  content: string | Uint8Array,
): Promise<void> {
  if (given === STDOUT) {
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(content, (error) => (error ? reject(error) : resolve())),
    )
    return
  }
  const { path, inPlace, fd } = await wholeFileTarget(given)
  // Stdout or stderr redirected to a file: written where the stream stands, as a print would be.
  if (fd !== undefined) return writeFileSync(fd, content)
  if (inPlace) {
    const handle = await openInPlace(path, control.signal)
    try {
      return await handle.writeFile(content, { signal: control.signal })
    } finally {
      await handle.close()
    }
  }
  await removeStalePartials(path)
  const partial = partialPath(path)
  const forget = control.removeOnStop(partial)
  try {
    await writeFile(partial, content, { signal: control.signal })
    await rename(partial, path)
  } catch (error) {
    await rm(partial, { force: true })
    // Named by the path given (the partial name alone was all a failure said), as a CAR export is.
    const system = control.signal.aborted ? undefined : systemErrorOf(error)
    if (system === undefined) throw error
    throw new StoreError(`writing ${given} failed: ${describeSystemError(system)}`, { cause: error })
  } finally {
    forget()
  }
}

/**
 * True when `path` is this process's stdout (`-`, `/dev/stdout`, `/proc/self/fd/1`, the file stdout is
 * redirected to): a summary printed on stdout would land after the file's bytes.
 */
export function isStdout(path: string): boolean {
  if (path === STDOUT) return true
  try {
    return sameFile(statSync(path), 1)
  } catch {
    return false // No such file yet, or no stdout: not the same.
  }
}
