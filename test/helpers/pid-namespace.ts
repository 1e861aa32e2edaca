// Node scripts run as pid 1 of a pid namespace of their own (in a user namespace: no root needed), as
// two containers sharing a volume run: for the disk store's temporary files, markers and lock.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'

const NAMESPACED = ['--user', '--map-root-user', '--pid', '--fork']
/** Whether `unshare` can make pid namespaces here (a test skips otherwise). */
export const namespaces = spawnSync('unshare', [...NAMESPACED, 'true']).status === 0

/** Runs `script` (TypeScript, through tsx) with `args` as pid 1 of a new pid namespace; its stdout by lines. */
export function asPidOne(
  script: string,
  args: string[],
): { child: ChildProcessWithoutNullStreams; lines: AsyncIterator<string> } {
  const child = spawn('unshare', [...NAMESPACED, process.execPath, '--import', 'tsx', script, ...args])
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk))
  return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() }
}
