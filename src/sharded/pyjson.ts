/**
 * JSON exactly as Python's `json.loads` then `json.dumps` produce it. py-hamt rewrites some Zarr
 * metadata this way (group metadata it adds, a resized `zarr.json`), and equal root CIDs need equal
 * bytes: Python keeps `0.0` a float, writes `1e-05`, `", "` separators and `\uXXXX` escapes.
 */

import { decodeUtf8 } from '../codec/dag-cbor.js'

/** A parsed JSON value that remembers what Python would: ints apart from floats. */
export type PyJson = null | boolean | string | PyInt | number | PyJson[] | Map<string, PyJson>

/** An integer, kept as its digits (Python ints are unbounded). */
export class PyInt {
  readonly digits: string
  constructor(digits: string) {
    this.digits = digits === '-0' ? '0' : digits
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y
const WHITESPACE = /[ \t\n\r]*/y

class Parser {
  readonly #text: string
  #at = 0

  constructor(text: string) {
    this.#text = text
  }

  parseDocument(): PyJson {
    const value = this.#value()
    this.#skip()
    if (this.#at !== this.#text.length) throw new SyntaxError(`extra data at ${this.#at}`)
    return value
  }

  #skip(): void {
    WHITESPACE.lastIndex = this.#at
    WHITESPACE.exec(this.#text)
    this.#at = WHITESPACE.lastIndex
  }

  #literal(word: string): boolean {
    if (!this.#text.startsWith(word, this.#at)) return false
    this.#at += word.length
    return true
  }

  #value(): PyJson {
    this.#skip()
    const c = this.#text[this.#at]
    if (c === '{') return this.#object()
    if (c === '[') return this.#array()
    if (c === '"') return this.#string()
    if (this.#literal('null')) return null
    if (this.#literal('true')) return true
    if (this.#literal('false')) return false
    if (this.#literal('NaN')) return Number.NaN
    if (this.#literal('Infinity')) return Number.POSITIVE_INFINITY
    if (this.#literal('-Infinity')) return Number.NEGATIVE_INFINITY
    NUMBER.lastIndex = this.#at
    const match = NUMBER.exec(this.#text)
    if (match === null) throw new SyntaxError(`unexpected character at ${this.#at}`)
    this.#at = NUMBER.lastIndex
    return match[1] === undefined && match[2] === undefined ? new PyInt(match[0]) : Number(match[0])
  }

  #string(): string {
    const start = this.#at
    let end = start + 1
    while (end < this.#text.length && this.#text[end] !== '"') end += this.#text[end] === '\\' ? 2 : 1
    if (end >= this.#text.length) throw new SyntaxError(`unterminated string at ${start}`)
    this.#at = end + 1
    return JSON.parse(this.#text.slice(start, end + 1)) as string
  }

  #array(): PyJson[] {
    this.#at++
    const items: PyJson[] = []
    this.#skip()
    if (this.#literal(']')) return items
    for (;;) {
      items.push(this.#value())
      this.#skip()
      if (this.#literal(']')) return items
      if (!this.#literal(',')) throw new SyntaxError(`expected , or ] at ${this.#at}`)
    }
  }

  #object(): Map<string, PyJson> {
    this.#at++
    const fields = new Map<string, PyJson>()
    this.#skip()
    if (this.#literal('}')) return fields
    for (;;) {
      this.#skip()
      if (this.#text[this.#at] !== '"') throw new SyntaxError(`expected a key at ${this.#at}`)
      const key = this.#string()
      this.#skip()
      if (!this.#literal(':')) throw new SyntaxError(`expected : at ${this.#at}`)
      fields.set(key, this.#value())
      this.#skip()
      if (this.#literal('}')) return fields
      if (!this.#literal(',')) throw new SyntaxError(`expected , or } at ${this.#at}`)
    }
  }
}

/** `json.loads(bytes.decode('utf-8'))`, or undefined where Python would fail (bad UTF-8 or JSON). */
export function parsePyJson(bytes: Uint8Array): PyJson | undefined {
  try {
    return new Parser(decodeUtf8(bytes)).parseDocument()
  } catch {
    return undefined
  }
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function pyFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity'
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e') as [string, string]
  const digits = mantissa.replace('.', '')
  const exponent = Number(exponentText)
  const sign = value < 0 ? '-' : ''
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const magnitude = String(Math.abs(exponent)).padStart(2, '0')
    return `${sign}${head}e${exponent < 0 ? '-' : '+'}${magnitude}`
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0')
  const fraction = digits.slice(exponent + 1)
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`
}

/** Python's `json.dumps` string escaping with `ensure_ascii=True`. */
function pyString(text: string): string {
  let out = '"'
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const c = text[i] as string
    if (c === '"') out += '\\"'
    else if (c === '\\') out += '\\\\'
    else if (c === '\n') out += '\\n'
    else if (c === '\r') out += '\\r'
    else if (c === '\t') out += '\\t'
    else if (c === '\b') out += '\\b'
    else if (c === '\f') out += '\\f'
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`
    else out += c
  }
  return `${out}"`
}

/** Python's `json.dumps(value)` (or with `indent`), as UTF-8 bytes. */
export function dumpPyJson(value: PyJson, indent?: number): Uint8Array {
  return new TextEncoder().encode(dump(value, indent, 0))
}

function dump(value: PyJson, indent: number | undefined, depth: number): string {
  if (value === null) return 'null'
  if (value === true) return 'true'
  if (value === false) return 'false'
  if (typeof value === 'string') return pyString(value)
  if (typeof value === 'number') return pyFloat(value)
  if (value instanceof PyInt) return value.digits
  const items = Array.isArray(value)
    ? value.map((item) => dump(item, indent, depth + 1))
    : [...value].map(([key, item]) => `${pyString(key)}: ${dump(item, indent, depth + 1)}`)
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}']
  if (items.length === 0) return `${open}${close}`
  if (indent === undefined) return `${open}${items.join(', ')}${close}`
  const inner = `\n${' '.repeat(indent * (depth + 1))}`
  return `${open}${inner}${items.join(`,${inner}`)}\n${' '.repeat(indent * depth)}${close}`
}

/** The integer a JSON number stands for (Python's `int(dim)`), or undefined. */
export function pyIntValue(value: PyJson | undefined): number | undefined {
  if (value instanceof PyInt) return Number(value.digits)
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value)
  return undefined
}
