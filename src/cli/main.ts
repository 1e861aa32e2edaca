#!/usr/bin/env node
// The ts-hamt command line: maps, Zarr datasets and CAR files on the on-disk store (default), a
// Kubo daemon (--kubo) or trustless gateways (--gateway). `ts-hamt --help` lists the commands.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadBlake3 } from '../hash/blake3.js'
import { useNodeDefaults } from '../node/defaults.js'
import { collectRetrievalStats, type RetrievalStats } from '../telemetry/index.js'
import { exportCommand, importCommand } from './commands/car.js'
import type { Command, Flags } from './commands/command.js'
import { convert } from './commands/convert.js'
import { diff } from './commands/diff.js'
import { gc } from './commands/gc.js'
import { stats, verify } from './commands/inspect.js'
import { create, get, keys, remove, set } from './commands/map.js'
import { merge } from './commands/merge.js'
import { nameCommand } from './commands/name.js'
import { pin } from './commands/pin.js'
import { zarrCommand } from './commands/zarr.js'
import { type GlobalOptions, makeContext, UsageError } from './context.js'
import { GRACE_MS, Interrupt, untilStopped } from './interrupt.js'
import { describeError, formatError, makeOutput } from './output.js'
import { formatRetrievalReport } from './retrieval-report.js'

export const commands: Command[] = [
  create,
  set,
  get,
  remove,
  keys,
  diff,
  merge,
  stats,
  verify,
  exportCommand,
  importCommand,
  zarrCommand,
  convert,
  pin,
  gc,
  nameCommand,
]

const globalFlags = {
  store: { type: 'string' },
  kubo: { type: 'string' },
  gateway: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  progress: { type: 'boolean' },
  'retrieval-stats': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

const GLOBAL_HELP = `Options for every command:
  --store DIR      the on-disk store (default: $TS_HAMT_STORE or ./.ts-hamt)
  --kubo URL       use a Kubo daemon: its RPC API (http://127.0.0.1:5001); reads go to --gateway
                   (default http://127.0.0.1:8080)
  --gateway URL    without --kubo: read through trustless gateways (repeat for failover; read-only)
  --json           print results as JSON, for scripts
  --progress       show progress on stderr (default: when stderr is a terminal); --no-progress hides it
  --retrieval-stats
                   after the command, print on stderr what it read: loads, repeated IDs, bytes,
                   retries, per gateway, latency percentiles, the most read keys (JSON with --json)
  -h, --help       help for a command
  -V, --version    print ts-hamt's version`

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'Usage: ts-hamt COMMAND [ARGS] [OPTIONS]',
    '',
    'HAMT maps and Zarr v3 datasets on content-addressed storage, byte-compatible with py-hamt.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    GLOBAL_HELP,
    '',
    'ts-hamt COMMAND --help shows a command’s arguments.',
  ].join('\n')
}

/** The version in the package's own package.json (two levels up from src/cli/ and from dist/cli/). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  return String(manifest.version)
}

function commandHelp(command: Command): string {
  return [
    `Usage: ts-hamt ${command.usage}`,
    '',
    command.summary,
    ...(command.help ? ['', command.help] : []),
    '',
    GLOBAL_HELP,
  ].join('\n')
}

/** The options in `argv`, by name (`--key-hex=…` as `--key-hex`), without their values. */
function optionNames(argv: string[]): string {
  return argv
    .filter((arg) => arg.startsWith('-'))
    .map((arg) => arg.split('=')[0])
    .join(' ')
}

/** The options of any command that take a value (`--key-hex KEY`), as written before it. */
const COMMAND_VALUE_OPTIONS = new Set(
  commands.flatMap((c) =>
    Object.entries(c.flags ?? {}).flatMap(([flag, spec]) => (spec.type === 'string' ? [`--${flag}`] : [])),
  ),
)

/**
 * Runs the CLI on `argv` (without node and the script); returns the exit code: 0, 1 when the command
 * failed (data, files, store), 2 for a usage error, 130/143/129 when stopped by SIGINT/SIGTERM/SIGHUP.
 */
export async function main(argv: string[], interrupt: Interrupt): Promise<number> {
  const at = argv.findIndex(
    (arg, i) => !arg.startsWith('-') && !['--store', '--kubo', '--gateway'].includes(argv[i - 1] ?? ''),
  )
  const name = at === -1 ? undefined : argv[at]
  const command = commands.find((c) => c.name === name)
  const wantsJson = argv.includes('--json')
  let stats: RetrievalStats | undefined
  try {
    if (name === undefined && (argv.includes('--version') || argv.includes('-V'))) {
      process.stdout.write(`${packageVersion()}\n`)
      return 0
    }
    const wantsHelp = name === 'help' || argv.includes('--help') || argv.includes('-h')
    // Options and no command (`ts-hamt --versio`): said on stderr, naming them, not the usage on stdout.
    // Named by the options alone: a value may be a key (`--key-hex=…`), which is never echoed.
    if (name === undefined && !wantsHelp && argv.length > 0) {
      const given = JSON.stringify(optionNames(argv).slice(0, 100))
      throw new UsageError(
        `no command in the options ${given}; ts-hamt --help lists the commands and options`,
      )
    }
    if (name === undefined || name === 'help') {
      process.stdout.write(`${usage()}\n`)
      return wantsHelp ? 0 : 2
    }
    if (command === undefined) {
      // After a command's option (`--key-hex KEY zarr …`) it is that option's value: not echoed.
      const option = argv[at - 1] ?? ''
      if (COMMAND_VALUE_OPTIONS.has(option)) {
        throw new UsageError(
          `no command before ${option} and its value: a command's options go after it (ts-hamt COMMAND … ${option} VALUE)`,
        )
      }
      throw new UsageError(`unknown command ${JSON.stringify(name)}; ts-hamt --help lists them`)
    }
    let parsed: ReturnType<typeof parseArgs>
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...globalFlags, ...command.flags },
        allowPositionals: true,
        allowNegative: true,
        strict: true,
      })
    } catch (error) {
      throw new UsageError(`${(error as Error).message}; ts-hamt ${command.name} --help shows the options`)
    }
    const values = parsed.values as Flags
    if (values.help === true) {
      process.stdout.write(`${commandHelp(command)}\n`)
      return 0
    }
    const options: GlobalOptions = {
      store: (values.store as string | undefined) ?? (process.env.TS_HAMT_STORE || '.ts-hamt'),
      gateways: (values.gateway as string[] | undefined) ?? [],
      json: values.json === true,
      progress: (values.progress as boolean | undefined) ?? process.stderr.isTTY === true,
      ...(typeof values.kubo === 'string' ? { kubo: values.kubo } : {}),
    }
    const output = makeOutput(options.json, options.progress && !options.json)
    await loadBlake3()
    const args = parsed.positionals.slice(parsed.positionals.indexOf(command.name) + 1)
    const extra = command.maxArgs === undefined ? undefined : args[command.maxArgs]
    if (extra !== undefined) {
      throw new UsageError(
        `unexpected argument ${JSON.stringify(extra)}: ts-hamt ${command.usage} (quote a value with spaces)`,
      )
    }
    const context = makeContext(options, output, command.writes === true, interrupt)
    if (values['retrieval-stats'] === true) stats = collectRetrievalStats({ top: 5 })
    const work = command.run(context, args, values)
    await untilStopped(work, interrupt, command.stopsOnAbort === true ? GRACE_MS : 0)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    if (interrupt.received !== undefined) {
      interrupt.removeFiles()
      reportStop(interrupt, wantsJson)
      return interrupt.exitCode as number
    }
    process.stderr.write(`${formatError(describeError(error), wantsJson, process.stderr.isTTY === true)}\n`)
    return error instanceof UsageError ? 2 : 1
  } finally {
    // Also after a failure: what was read on the way is often why it failed.
    if (stats !== undefined) process.stderr.write(`${formatRetrievalReport(stats.snapshot(), wantsJson)}\n`)
    stats?.stop()
  }
}

function reportStop(interrupt: Interrupt, json: boolean): void {
  const message = `stopped by ${interrupt.received}`
  process.stderr.write(
    json ? `${JSON.stringify({ error: { code: 'ERR_INTERRUPTED', message } })}\n` : `ts-hamt: ${message}\n`,
  )
}

// Its stores read as those of `import 'ts-hamt'` in Node do: node:http, native BLAKE3 when installed.
useNodeDefaults()
const interrupt = new Interrupt()
// A reader that stops early (`ts-hamt keys ROOT | head`) is not an error: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') {
    process.stderr.write(`${formatError(describeError(error), false, process.stderr.isTTY === true)}\n`)
  }
  interrupt.exitNow(error.code === 'EPIPE' ? 0 : 1)
})
process.stderr.on('error', () => {}) // Nowhere left to report it.
const code = await main(process.argv.slice(2), interrupt)
// Work abandoned after a signal may still hold sockets or timers: do not wait for it.
if (interrupt.received !== undefined) interrupt.exitNow(code)
interrupt.dispose()
process.exitCode = code
