#!/usr/bin/env node
// The ts-hamt command line: maps, Zarr datasets and CAR files on the on-disk store (default), a
// Kubo daemon (--kubo) or trustless gateways (--gateway). `ts-hamt --help` lists the commands.
import { parseArgs } from 'node:util'
import { HamtError, InvalidArgumentError } from '../errors.js'
import { loadBlake3 } from '../hash/blake3.js'
import { exportCommand, importCommand } from './commands/car.js'
import type { Command, Flags } from './commands/command.js'
import { convert } from './commands/convert.js'
import { stats, verify } from './commands/inspect.js'
import { create, get, keys, remove, set } from './commands/map.js'
import { pin } from './commands/pin.js'
import { zarrCommand } from './commands/zarr.js'
import { type GlobalOptions, makeContext } from './context.js'
import { makeOutput } from './output.js'

export const commands: Command[] = [
  create,
  set,
  get,
  remove,
  keys,
  stats,
  verify,
  exportCommand,
  importCommand,
  zarrCommand,
  convert,
  pin,
]

const globalFlags = {
  store: { type: 'string' },
  kubo: { type: 'string' },
  gateway: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  progress: { type: 'boolean' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

const GLOBAL_HELP = `Options for every command:
  --store DIR      the on-disk store (default: $TS_HAMT_STORE or ./.ts-hamt)
  --kubo URL       use a Kubo daemon: its RPC API (http://127.0.0.1:5001); reads go to --gateway
                   (default http://127.0.0.1:8080)
  --gateway URL    without --kubo: read through trustless gateways (repeat for failover; read-only)
  --json           print results as JSON, for scripts
  --progress       show progress on stderr (default: when stderr is a terminal); --no-progress hides it
  -h, --help       help for a command`

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

/** Runs the CLI on `argv` (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const name = argv.find(
    (arg, i) => !arg.startsWith('-') && !['--store', '--kubo', '--gateway'].includes(argv[i - 1] ?? ''),
  )
  const command = commands.find((c) => c.name === name)
  const wantsJson = argv.includes('--json')
  try {
    if (name === undefined || name === 'help') {
      process.stdout.write(`${usage()}\n`)
      return name === undefined && !argv.includes('--help') && !argv.includes('-h') ? 2 : 0
    }
    if (command === undefined)
      throw new InvalidArgumentError(`unknown command ${JSON.stringify(name)}; ts-hamt --help lists them`)
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
      throw new InvalidArgumentError(
        `${(error as Error).message}; ts-hamt ${command.name} --help shows the options`,
      )
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
    await command.run(makeContext(options, output, command.writes === true), args, values)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    const usageError = error instanceof InvalidArgumentError
    const code = error instanceof HamtError ? error.code : 'ERR_UNEXPECTED'
    const message = error instanceof Error ? error.message : String(error)
    if (wantsJson) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`)
    else process.stderr.write(`ts-hamt: ${message}${error instanceof HamtError ? ` (${code})` : ''}\n`)
    return usageError ? 2 : 1
  }
}

process.exitCode = await main(process.argv.slice(2))
