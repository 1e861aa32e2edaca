/** The system error (an errno `code` and a `syscall`) that `error` is or was caused by, if any. */
export function systemErrorOf(error: unknown): NodeJS.ErrnoException | undefined {
  let current = error
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const e = current as NodeJS.ErrnoException
    if (typeof e.code === 'string' && typeof e.syscall === 'string') return e
    current = e.cause
  }
  return undefined
}

/**
 * A system error as a sentence that puts the path first and the code last: Node's
 * "ENOENT: no such file or directory, open 'x'" becomes "cannot open x: no such file or directory (ENOENT)".
 */
export function describeSystemError(system: NodeJS.ErrnoException): string {
  const what = /^\w+: (.*?)(?:, \w+(?: '.*')?)?$/.exec(system.message)?.[1] ?? system.message
  const where =
    system.path === undefined ? `${system.syscall} failed` : `cannot ${system.syscall} ${system.path}`
  return `${where}: ${what} (${system.code})`
}
