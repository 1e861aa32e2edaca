import * as dagCbor from '@ipld/dag-cbor'
import { type DecodeOptions, decode, encode, type Token, Tokenizer } from 'cborg'

// Every DAG-CBOR block the library reads goes through decodeDagCbor, so that text strings come out
// exactly as Python reads them. cborg decodes strings with a module-level default TextDecoder, which
// drops a leading U+FEFF and replaces invalid UTF-8 with U+FFFD, and it has no option to change that.
// The tokenizer below fixes up only the string tokens cborg can have got wrong, so the common path
// costs one byte check per token.

const exactUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Longest ASCII run turned into a string with one `fromCharCode.apply` (engines cap arguments). */
const ASCII_CHUNK = 4096

/**
 * The text of UTF-8 `bytes` exactly as Python decodes it: a leading U+FEFF is kept, nothing is
 * normalised, and invalid UTF-8 is a TypeError.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length > ASCII_CHUNK) return exactUtf8.decode(bytes)
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) >= 0x80) return exactUtf8.decode(bytes)
  }
  return String.fromCharCode.apply(null, bytes as unknown as number[])
}

/** Bytes of the head of a text string whose first byte has `minor` as its low 5 bits. */
function headLength(minor: number): number {
  return minor < 24 ? 1 : 1 + (1 << (minor - 24))
}

class ExactStringTokenizer extends Tokenizer {
  override next(): Token {
    const data = this.data
    const start = this._pos
    const token = super.next()
    const first = data[start] as number
    if (first >> 5 === 3) {
      const from = start + headLength(first & 0x1f)
      const to = start + (token.encodedLength as number)
      // cborg got it right unless it stripped a BOM (EF BB BF) or replaced invalid bytes by U+FFFD.
      const bom = to - from >= 3 && data[from] === 0xef && data[from + 1] === 0xbb && data[from + 2] === 0xbf
      if (bom || (token.value as string).includes('\ufffd')) token.value = exactText(data, from, to)
    }
    return token
  }
}

function exactText(data: Uint8Array, from: number, to: number): string {
  try {
    return exactUtf8.decode(data.subarray(from, to))
  } catch {
    throw new Error(`CBOR decode error: the text string at byte ${from} is not valid UTF-8`)
  }
}

/** A tokenizer and the options that use it, reused: decoding is synchronous and never re-entered. */
function exactDecoder(options: DecodeOptions): (bytes: Uint8Array) => unknown {
  const tokenizer = new ExactStringTokenizer(new Uint8Array(0), options)
  const withTokenizer = { ...options, tokenizer }
  return (bytes) => {
    tokenizer.data = bytes
    tokenizer._pos = 0
    try {
      return decode(bytes, withTokenizer)
    } catch (error) {
      if (!isStackOverflow(error)) throw error
      throw new Error(
        `CBOR decode error: arrays and maps nested ${nestingDepth(bytes)} deep, more than this runtime's stack decodes`,
        { cause: error },
      )
    } finally {
      tokenizer.data = EMPTY // drop the block: a long-lived reference would keep it in memory
    }
  }
}

const EMPTY = new Uint8Array(0)

// cborg decodes recursively, so a stranger's block nested a few thousand deep overflows the stack
// (V8 and Safari: RangeError; Firefox: InternalError); callers wrap this in their typed errors.
function isStackOverflow(error: unknown): boolean {
  if (error instanceof RangeError) return /call stack|recursion/i.test(error.message)
  return (error as Error | null)?.name === 'InternalError'
}

/** How deep arrays and maps nest in `bytes`, read without recursion and never past its end. */
export function nestingDepth(bytes: Uint8Array): number {
  const left: number[] = [] // items still to come in each open array or map
  let deepest = 0
  let pos = 0
  while (pos < bytes.length) {
    const major = (bytes[pos] as number) >> 5
    const info = (bytes[pos] as number) & 0x1f
    if (info > 27) break // indefinite lengths and reserved values: not DAG-CBOR, cborg stopped there
    const size = info < 24 ? 0 : 1 << (info - 24)
    if (pos + 1 + size > bytes.length) break
    let n = info
    if (size > 0) n = bytes.subarray(pos + 1, pos + 1 + size).reduce((sum, byte) => sum * 256 + byte, 0)
    pos += 1 + size
    if (major === 6) continue // a tag's content is the same item
    if (major === 2 || major === 3) pos += n
    if ((major === 4 || major === 5) && n > 0) {
      left.push(major === 5 ? 2 * n : n)
      deepest = Math.max(deepest, left.length)
      continue
    }
    // One item complete: it may complete the arrays and maps around it.
    for (let top = left.length - 1; top >= 0 && --(left[top] as number) === 0; top--) left.pop()
    if (left.length === 0) break
  }
  return deepest
}
const decodeValue = exactDecoder(dagCbor.decodeOptions)
const decodeWithMaps = exactDecoder({ ...dagCbor.decodeOptions, useMaps: true })

/** How {@link decodeDagCbor} represents CBOR maps. */
export interface DecodeDagCborOptions {
  /** Maps as `Map` (keys of any type kept, to be named in errors) instead of plain objects. */
  useMaps?: boolean
}

/**
 * Decodes one DAG-CBOR block as @ipld/dag-cbor does (strict, CIDs for tag 42, no duplicate keys),
 * but with every text string decoded exactly (see {@link decodeUtf8}). Throws cborg's errors.
 *
 * @example
 * ```ts
 * decodeDagCbor(dagCbor.encode({ '\ufeffname': 1 })) // { '\ufeffname': 1 }
 * ```
 */
export function decodeDagCbor(bytes: Uint8Array, options: DecodeDagCborOptions = {}): unknown {
  if (options.useMaps === true) return decodeWithMaps(bytes)
  return smallInteger(bytes) ?? decodeValue(bytes)
}

// Integer values are common and cost ~0.3 µs each way through cborg (a token stream and buffers for
// one to five bytes). These two read and write the whole-block integers of up to 32 bits directly,
// in the shortest form only: anything else goes to cborg, which decides as before.

/** The block as an integer if it is exactly one shortest-form CBOR integer of at most 32 bits. */
function smallInteger(bytes: Uint8Array): number | undefined {
  const first = bytes[0]
  // Major types 0 (unsigned) and 1 (negative) are the first bytes below 0x40.
  if (first === undefined || first >= 0x40) return undefined
  const info = first & 0x1f
  let value: number
  if (info < 24 && bytes.length === 1) value = info
  else if (info === 24 && bytes.length === 2) value = bytes[1] as number
  else if (info === 25 && bytes.length === 3) value = ((bytes[1] as number) << 8) | (bytes[2] as number)
  else if (info === 26 && bytes.length === 5) {
    value =
      (bytes[1] as number) * 0x1000000 +
      (((bytes[2] as number) << 16) | ((bytes[3] as number) << 8) | (bytes[4] as number))
  } else return undefined
  const shortest = info < 24 || value >= (info === 24 ? 24 : info === 25 ? 0x100 : 0x10000)
  if (!shortest) return undefined
  return first < 0x20 ? value : -1 - value
}

// One buffer for the integers encodeDagCborNow writes, and a fixed view of each length they take:
// a new array a value cost ~210 bytes of V8 objects, most of a bulk build's garbage.
const scratch = new Uint8Array(5)
const scratchViews = [1, 2, 3, 4, 5].map((length) => scratch.subarray(0, length))

/** Writes the shortest CBOR encoding of an integer of at most 32 bits (and its negative) into `scratch`; its length, or 0. */
function writeSmallInteger(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || Object.is(value, -0)) return 0
  const major = value < 0 ? 0x20 : 0
  const n = value < 0 ? -1 - value : value
  if (n < 24) {
    scratch[0] = major | n
    return 1
  }
  if (n < 0x100) {
    scratch[0] = major | 24
    scratch[1] = n
    return 2
  }
  if (n < 0x10000) {
    scratch[0] = major | 25
    scratch[1] = n >>> 8
    scratch[2] = n & 0xff
    return 3
  }
  if (n >= 0x100000000) return 0
  scratch[0] = major | 26
  scratch[1] = n >>> 24
  scratch[2] = (n >>> 16) & 0xff
  scratch[3] = (n >>> 8) & 0xff
  scratch[4] = n & 0xff
  return 5
}

// TextEncoder writes a lone surrogate as U+FFFD, so a value would read back changed; Python refuses it.
const encodeOptions = {
  ...dagCbor.encodeOptions,
  typeEncoders: {
    ...dagCbor.encodeOptions.typeEncoders,
    string: (text: string): null => {
      if (!text.isWellFormed()) {
        throw new Error(
          `string ${JSON.stringify(text.slice(0, 40))} is not well-formed Unicode (it has a lone surrogate)`,
        )
      }
      return null
    },
  },
}

/**
 * Encodes `value` as @ipld/dag-cbor does, but refuses strings (keys included) with a lone surrogate,
 * which have no UTF-8 form, instead of writing U+FFFD in their place.
 *
 * @example
 * ```ts
 * encodeDagCbor({ name: 'x' }) // a1646e616d656178
 * encodeDagCbor('\ud800') // throws
 * ```
 */
export function encodeDagCbor(value: unknown): Uint8Array {
  const length = writeSmallInteger(value)
  if (length > 0) return scratch.slice(0, length)
  return encodeLarger(value)
}

/**
 * {@link encodeDagCbor}, but a small integer's bytes are a view of a buffer the next call
 * overwrites: for a caller that copies them at once (see {@link isEncodedNow}) and keeps nothing else.
 */
export function encodeDagCborNow(value: unknown): Uint8Array {
  const length = writeSmallInteger(value)
  if (length > 0) return scratchViews[length - 1] as Uint8Array
  return encodeLarger(value)
}

/** True when `bytes` are {@link encodeDagCborNow}'s shared buffer: to be copied before they are kept. */
export function isEncodedNow(bytes: Uint8Array): boolean {
  return bytes.buffer === scratch.buffer
}

function encodeLarger(value: unknown): Uint8Array {
  try {
    return encode(value, encodeOptions)
  } catch (error) {
    // cborg encodes recursively too: named as the decoder names a block too deep for it.
    if (!isStackOverflow(error)) throw error
    throw new Error(
      `CBOR encode error: arrays and maps nested ${valueDepth(value)} deep, more than this runtime's stack encodes`,
      { cause: error },
    )
  }
}

/**
 * How deep non-empty arrays and objects nest in `value` as the encoder walks it (as {@link
 * nestingDepth} counts a block's), read without recursion: an object met again (shared) adds its
 * height wherever it is (counted once, remembered); one on its own way down (a cycle) is not followed.
 */
function valueDepth(value: unknown): number {
  const heights = new Map<object, number>()
  const onPath = new Set<object>()
  const frames: Array<{ item: object; members: unknown[]; at: number; height: number }> = []
  const enter = (item: unknown): void => {
    const list = membersOf(item)
    if (list === undefined || onPath.has(item as object)) return
    onPath.add(item as object)
    frames.push({ item: item as object, members: list, at: 0, height: 0 })
  }
  enter(value)
  let depth = 0
  for (let frame = frames.at(-1); frame !== undefined; frame = frames.at(-1)) {
    if (frame.at < frame.members.length) {
      const member = frame.members[frame.at++]
      const known = typeof member === 'object' && member !== null ? heights.get(member) : undefined
      if (known === undefined) enter(member)
      else frame.height = Math.max(frame.height, known)
      continue
    }
    frames.pop()
    onPath.delete(frame.item)
    heights.set(frame.item, frame.height + 1)
    const parent = frames.at(-1)
    if (parent === undefined) depth = frame.height + 1
    else parent.height = Math.max(parent.height, frame.height + 1)
  }
  return depth
}

/** The members of a non-empty array or object; undefined for a leaf (bytes and CIDs: `asCID` is the CID itself). */
function membersOf(item: unknown): unknown[] | undefined {
  if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) return undefined
  if ((item as { asCID?: unknown }).asCID === item) return undefined
  const members = Array.isArray(item) ? item : Object.values(item)
  return members.length === 0 ? undefined : members
}
