import type { ParseArgsConfig } from 'node:util'
import type { Context } from '../context.js'

export type Flags = Record<string, string | boolean | string[] | undefined>

/** One CLI command: its name, one-line summary, usage, flags, and what it does. */
export interface Command {
  name: string
  summary: string
  usage: string
  help?: string
  /** Writes to the store: only these create a missing on-disk store directory. */
  writes?: boolean
  /** Honours `context.signal` (stops and cleans up): after a stop signal it gets a grace period for that. */
  stopsOnAbort?: boolean
  flags?: NonNullable<ParseArgsConfig['options']>
  /** The most arguments it takes after its name: one more (an unquoted space) is a usage error, not dropped. */
  maxArgs?: number
  run(context: Context, args: string[], flags: Flags): Promise<void>
}
