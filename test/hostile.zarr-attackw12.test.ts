// Write-side attack (session 12) on encrypted Zarr against py-hamt 3.6.0's SimpleEncryptedZarrHAMTStore:
// random keys and headers (empty and long), empty and large values sealed by one side open in the
// other (and a wrong header, a flipped byte or a short value opens in neither); random arrays written
// by zarr-python through py-hamt read the same in zarrita through ts-hamt, and the other way.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as zarr from 'zarrita'
import { bytesToHex, hexToBytes } from '../src/blocks.js'
import { DecryptionError, EncryptedZarrHAMTStore, HAMT, KuboStore } from '../src/index.js'
import { kuboOptions, startKubo } from './helpers/kubo.js'
import { attackWriteDriver } from './helpers/python.js'
import { mulberry32, testSeed } from './helpers/random.js'
import { type Flat, generate, readFlat, type Spec } from './helpers/zarr-histories.js'

const daemon = await startKubo()
after(() => daemon.stop())
const urls = { rpcUrl: daemon.rpcUrl, gatewayUrl: daemon.gatewayUrl }
const kubo = (): KuboStore => new KuboStore(kuboOptions(urls))
const seed = testSeed()

const bytes = (random: () => number, length: number): Uint8Array =>
  Uint8Array.from({ length }, () => Math.floor(random() * 256))

/** A random key and header: headers empty, short or long (py-hamt binds any length as associated data). */
function secrets(random: () => number): { key: Uint8Array; header: Uint8Array } {
  const length = [0, 1, 15, 300][Math.floor(random() * 4)] as number
  return { key: bytes(random, 32), header: bytes(random, length) }
}

/** An encrypted store over a HAMT; the cipher methods need no data in it. */
async function encrypted(
  key: Uint8Array,
  header: Uint8Array,
  root?: string,
): Promise<EncryptedZarrHAMTStore> {
  const map =
    root === undefined
      ? await HAMT.create<Uint8Array>({ store: kubo(), valuesAreBytes: true })
      : await HAMT.open<Uint8Array>(CID.parse(root), { store: kubo(), valuesAreBytes: true, readOnly: true })
  return new EncryptedZarrHAMTStore(map, { key, header })
}

describe('sealed values: what one side seals the other opens, byte for byte', () => {
  for (let c = 0; c < 2; c++) {
    it(`case ${c} (seed ${seed})`, async () => {
      const random = mulberry32(seed + c)
      const { key, header } = secrets(random)
      // Empty, one byte, around a 64-byte ChaCha block, and 256 KiB + 1.
      const plains = [0, 1, 63, 64, 65, 1000, (1 << 18) + 1].map((n) => bytes(random, n))
      const secret = { keyHex: bytesToHex(key), headerHex: bytesToHex(header) }
      const store = await encrypted(key, header)

      const python = await attackWriteDriver<{ sealed: string[] }>('seal', {
        ...secret,
        plains: plains.map(bytesToHex),
      })
      for (const [i, sealed] of python.sealed.entries()) {
        assert.equal(sealed.length / 2, (plains[i] as Uint8Array).length + 40, `py-hamt's layout, value ${i}`)
        assert.deepEqual(
          store.open(hexToBytes(sealed), `v${i}`),
          plains[i],
          `py-hamt's value ${i} opens here`,
        )
      }

      const ours = plains.map((p) => store.seal(p))
      const flipped = Uint8Array.from(ours[2] as Uint8Array)
      flipped[30] = (flipped[30] as number) ^ 1
      const opened = await attackWriteDriver<{ plains: (string | null)[] }>('open', {
        ...secret,
        sealed: [
          ...ours.map(bytesToHex),
          bytesToHex(flipped),
          bytesToHex((ours[3] as Uint8Array).subarray(0, 39)),
        ],
      })
      assert.deepEqual(opened.plains.slice(0, plains.length), plains.map(bytesToHex), 'ours open in py-hamt')
      assert.deepEqual(
        opened.plains.slice(plains.length),
        [null, null],
        'py-hamt refuses a flipped or short value',
      )
      assert.throws(() => store.open(flipped, 'flipped'), DecryptionError)
      const other = await encrypted(key, Uint8Array.of(...header, 0))
      assert.throws(() => other.open(ours[1] as Uint8Array, 'v1'), DecryptionError, 'another header')
    })
  }
})

/** Writes the history's arrays with zarrita through ts-hamt's encrypted store (writes only). */
async function writeWithZarrita(
  store: EncryptedZarrHAMTStore,
  arrays: Spec[],
  ops: ReturnType<typeof generate>['phases'][number],
): Promise<void> {
  const root = zarr.root(store)
  for (const spec of arrays) {
    await zarr.create(root.resolve(spec.name), {
      shape: spec.shape,
      chunkShape: spec.chunks,
      dtype: spec.dtype as 'uint8',
      fillValue: Number(spec.fill) as never,
      codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    })
  }
  for (const op of ops) {
    if (op.op !== 'write') continue
    const array = await zarr.open(root.resolve(op.array), { kind: 'array' })
    const shape = op.stop.map((s, i) => s - (op.start[i] as number))
    if (shape.includes(0)) continue
    const numbers = op.values.map((v) => v ?? Number.NaN)
    const Typed = {
      uint8: Uint8Array,
      int16: Int16Array,
      int32: Int32Array,
      uint32: Uint32Array,
      float32: Float32Array,
      float64: Float64Array,
    }[array.dtype as string] as Float64ArrayConstructor
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    const selection = op.start.map((s, i) => zarr.slice(s, op.stop[i] as number))
    const data = { data: Typed.from(numbers), shape, stride }
    await zarr.set(
      array,
      shape.length === 0 ? null : selection,
      (shape.length === 0 ? numbers[0] : data) as never,
    )
  }
}

describe('random arrays, encrypted: zarr-python through py-hamt and zarrita through ts-hamt read each other', () => {
  for (let c = 0; c < 3; c++) {
    it(`case ${c} (seed ${seed})`, async () => {
      const random = mulberry32(seed + 100 + c)
      const { key, header } = secrets(random)
      const secret = { keyHex: bytesToHex(key), headerHex: bytesToHex(header) }
      const { arrays, phases } = generate(random, { writesOnly: true })
      // zarrita writes a numeric fill value; NaN fills stay with the Python side.
      const plainFill = arrays.map((a) => (a.fill === 'NaN' ? { ...a, fill: 1 } : a))
      const ops = phases.flat()
      const context = JSON.stringify({ arrays: plainFill })

      const python = await attackWriteDriver<{ root: string; values: Record<string, Flat>; keys: string[] }>(
        'encrypted-write',
        { ...urls, ...secret, arrays: plainFill, ops },
      )
      const theirs = await encrypted(key, header, python.root)
      const keys: string[] = []
      for await (const k of theirs.list()) keys.push(k)
      assert.deepEqual(keys.sort(), python.keys, `keys stay readable: ${context}`)
      for (const spec of plainFill)
        assert.deepEqual(
          await readFlat(theirs, spec.name),
          python.values[spec.name],
          `${spec.name}: ${context}`,
        )

      const ours = await encrypted(key, header)
      await writeWithZarrita(ours, plainFill, ops)
      const root = await ours.hamt.flush()
      const read = await attackWriteDriver<{ values: Record<string, Flat> }>('encrypted-read', {
        ...urls,
        ...secret,
        root: root.toString(),
        paths: plainFill.map((a) => a.name),
      })
      assert.deepEqual(read.values, python.values, `py-hamt reads ours: ${context}`)
    })
  }
})
