import { readFile } from 'node:fs/promises'
import { decodeUtf8 } from '../../codec/dag-cbor.js'
import { InvalidArgumentError, KeyNotFoundError } from '../../errors.js'
import { HAMT } from '../../hamt/hamt.js'
import { type Context, rootOf, UsageError } from '../context.js'
import { toJson } from '../output.js'
import { isStdout, outputPath, writeWholeFile } from '../partial.js'
import type { Command } from './command.js'

const valueFlags = {
  type: { type: 'string', default: 'string' },
  file: { type: 'string' },
  raw: { type: 'boolean', default: false },
  out: { type: 'string' },
  prefix: { type: 'string' },
} as const

async function openMap(context: Context, root: string | undefined, raw: boolean, readOnly: boolean) {
  return HAMT.open<unknown>(await rootOf(context, root), {
    store: await context.store(),
    readOnly,
    valuesAreBytes: raw,
  })
}

export const create: Command = {
  name: 'create',
  maxArgs: 0,
  writes: true,
  summary: 'create an empty map and print its root CID',
  usage: 'create',
  async run(context) {
    const map = await HAMT.create<unknown>({ store: await context.store() })
    const root = await map.flush()
    context.output.result({ root: String(root) }, () => String(root))
  },
}

export const set: Command = {
  name: 'set',
  maxArgs: 3,
  writes: true,
  summary: 'set KEY to VALUE in the map at ROOT; print the new root CID',
  usage: 'set ROOT KEY [VALUE] [--type string|json|number] [--file PATH --raw]',
  help: `VALUE is stored as a DAG-CBOR string by default; --type json parses it as JSON, --type number
as a number. --file PATH reads the value from a file: its bytes as a byte string, its text as JSON or a
number with --type json|number, or with --raw the bytes as they are (as Zarr chunks are).`,
  flags: valueFlags,
  async run(context, [root, key, text], flags) {
    if (key === undefined) throw new UsageError('KEY is missing')
    const raw = flags.raw === true
    let value: unknown
    if (typeof flags.file === 'string') {
      if (text !== undefined) throw new UsageError('give VALUE or --file PATH, not both')
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await readFile(flags.file))
      } catch (error) {
        throw new InvalidArgumentError(`cannot read --file ${flags.file}: ${(error as Error).message}`, {
          cause: error,
        })
      }
      value = bytes
      // --type json|number parse the file's text (it was dropped: the file was stored as bytes).
      const type = String(flags.type)
      if (type !== 'string') {
        if (raw) throw new UsageError(`--raw stores the file's bytes as they are: it takes no --type ${type}`)
        let text: string
        try {
          text = decodeUtf8(bytes)
        } catch (error) {
          throw new UsageError(`--file ${flags.file} is not UTF-8 text, as --type ${type} needs`, {
            cause: error,
          })
        }
        value = parseValue(text, type)
      }
    } else {
      if (text === undefined) throw new UsageError('VALUE is missing (or give --file PATH)')
      if (raw) throw new UsageError('--raw needs --file PATH: raw values are bytes')
      value = parseValue(text, String(flags.type))
    }
    const map = await openMap(context, root, raw, false)
    await map.set(key, value)
    const next = await map.flush()
    context.output.result({ root: String(next) }, () => String(next))
  },
}

export const get: Command = {
  name: 'get',
  maxArgs: 2,
  summary: 'print the value of KEY in the map at ROOT',
  usage: 'get ROOT KEY [--raw] [--out PATH]',
  help: '--raw reads the stored bytes as they are; --out PATH writes them (or the value) to a file.',
  flags: valueFlags,
  async run(context, [root, key], flags) {
    if (key === undefined) throw new UsageError('KEY is missing')
    const out = typeof flags.out === 'string' ? outputPath(flags.out, '--out') : undefined
    const raw = flags.raw === true
    const map = await openMap(context, root, raw, true)
    const value = await map.get(key)
    if (value === undefined) throw new KeyNotFoundError(key)
    if (out !== undefined) {
      // As printed: bytes as they are, a string as its text, anything else as JSON.
      const content = value instanceof Uint8Array ? value : typeof value === 'string' ? value : toJson(value)
      const toStdout = isStdout(out)
      await writeWholeFile(context, out, content)
      context.output.result({ key, out: flags.out }, () => `wrote ${key} to ${flags.out}`, {
        stderr: toStdout,
      })
      return
    }
    context.output.result({ key, value }, () =>
      value instanceof Uint8Array
        ? `<${value.length} bytes: ${Buffer.from(value.subarray(0, 32)).toString('hex')}${value.length > 32 ? '…' : ''}>`
        : typeof value === 'string'
          ? value
          : toJson(value),
    )
  },
}

export const remove: Command = {
  name: 'delete',
  maxArgs: 2,
  writes: true,
  summary: 'delete KEY from the map at ROOT; print the new root CID',
  usage: 'delete ROOT KEY',
  async run(context, [root, key]) {
    if (key === undefined) throw new UsageError('KEY is missing')
    const map = await openMap(context, root, true, false)
    await map.delete(key)
    const next = await map.flush()
    context.output.result({ root: String(next) }, () => String(next))
  },
}

export const keys: Command = {
  name: 'keys',
  maxArgs: 1,
  summary: 'list the keys of the map at ROOT',
  usage: 'keys ROOT [--prefix P]',
  flags: valueFlags,
  async run(context, [root], flags) {
    const map = await openMap(context, root, true, true)
    const prefix = typeof flags.prefix === 'string' ? flags.prefix : ''
    const found: string[] = []
    for await (const key of map.keys()) {
      if (!key.startsWith(prefix)) continue
      if (context.output.json) found.push(key)
      else context.output.line(key)
    }
    if (context.output.json) context.output.result({ keys: found.sort() })
  },
}

function parseValue(text: string, type: string): unknown {
  if (type === 'string') return text
  if (type === 'number') {
    const number = Number(text)
    if (text.trim() === '' || !Number.isFinite(number)) {
      throw new UsageError(`VALUE is not a number: ${JSON.stringify(text)}`)
    }
    return number
  }
  if (type === 'json') {
    try {
      return JSON.parse(text)
    } catch (error) {
      throw new UsageError(`VALUE is not JSON: ${(error as Error).message}`)
    }
  }
  throw new UsageError(`--type must be string, json or number, got ${JSON.stringify(type)}`)
}
