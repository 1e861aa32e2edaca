// UTF-8 without TextEncoder on the hot paths: for short keys, TextEncoder.encode costs ~1 µs a call in
// Node 20 (13% of a 1M-key flush). Keys are well-formed strings (checkKey), so surrogates come in pairs.
// test/utf8.test.ts checks these against TextEncoder.

/** Bytes of `s` in UTF-8. */
export function utf8Length(s: string): number {
  let length = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) length += 1
    else if (c >= 0xd800 && c <= 0xdbff) {
      length += 2 // a pair: two UTF-16 units become four bytes
      i++
    } else length += 2
  }
  return length
}

/** Writes `s` as UTF-8 into `out` at `offset` (which must have room); returns the end offset. */
export function writeUtf8(s: string, out: Uint8Array, offset: number): number {
  let o = offset
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      out[o++] = c
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6)
      out[o++] = 0x80 | (c & 0x3f)
    } else if (c >= 0xd800 && c <= 0xdbff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00)
      out[o++] = 0xf0 | (c >> 18)
      out[o++] = 0x80 | ((c >> 12) & 0x3f)
      out[o++] = 0x80 | ((c >> 6) & 0x3f)
      out[o++] = 0x80 | (c & 0x3f)
    } else {
      out[o++] = 0xe0 | (c >> 12)
      out[o++] = 0x80 | ((c >> 6) & 0x3f)
      out[o++] = 0x80 | (c & 0x3f)
    }
  }
  return o
}

/** `s` as UTF-8 bytes. */
export function utf8Encode(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s))
  writeUtf8(s, out, 0)
  return out
}

/**
 * Compares two strings as their UTF-8 bytes compare, without encoding them. UTF-8 byte order is code
 * point order; UTF-16 order differs only where a surrogate meets a unit at or above 0xE000, so both
 * units are first moved to where their code points sort.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000
    return x - y
  }
  return a.length - b.length
}

/** DAG-CBOR's map key order (shorter encoded key first, then bytewise), the order py-hamt reads a map in. */
export function compareDagCborKeys(a: string, b: string): number {
  return utf8Length(a) - utf8Length(b) || compareUtf8(a, b)
}
