// CF masking of fill values against a plain model: for seeded data of each stored type and one to
// four fill values (_FillValue and missing_value, repeats, 0 and -0, NaN data), every value and
// mask entry equals the model's (a value is missing when it equals a fill in the decoded type, or is NaN).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cfValueDecoder, type NumericArray } from '../src/dataset/cf.js'
import { mulberry32, testSeed } from './helpers/random.js'

const seed = testSeed()
const next = mulberry32(seed)
const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))

const TYPES = {
  int8: [Int8Array, -128, 127],
  uint8: [Uint8Array, 0, 255],
  int16: [Int16Array, -32768, 32767],
  uint16: [Uint16Array, 0, 65535],
  int32: [Int32Array, -(2 ** 31), 2 ** 31 - 1],
  float32: [Float32Array, -1e6, 1e6],
  float64: [Float64Array, -1e9, 1e9],
} as const

describe('CF fill masking', () => {
  it('equals the model for 300 seeded variables', () => {
    for (let round = 0; round < 300; round++) {
      const dataType = Object.keys(TYPES)[int(0, 6)] as keyof typeof TYPES
      const [Kind, min, max] = TYPES[dataType]
      const float = dataType.startsWith('float')
      // A few distinct values, so fills hit often; 0 and -0 among them for floats.
      const pool = Array.from({ length: 6 }, () => (float && next() < 0.3 ? next() * 2 - 1 : int(min, max)))
      if (float) pool.push(0, -0, Number.NaN)
      const data = new Kind(int(0, 500)) as NumericArray
      for (let i = 0; i < data.length; i++)
        (data as Float64Array)[i] = pool[int(0, pool.length - 1)] as number
      const fills = Array.from({ length: int(1, 4) }, () => pool[int(0, pool.length - 1)] as number)
      const finite = fills.filter((fill) => !Number.isNaN(fill))
      if (finite.length === 0) continue
      const attrs: Record<string, unknown> = { _FillValue: finite[0] }
      if (finite.length > 1) attrs.missing_value = finite.slice(1)
      const decoder = cfValueDecoder(attrs, dataType, 0)
      const { values, mask } = decoder.decode(data)
      const single = values instanceof Float32Array
      const targets = finite.map((fill) => (single ? Math.fround(fill) : fill))
      const where = `round ${round}: ${dataType} fills ${finite} (seed ${seed})`
      assert.equal(values.length, data.length, where)
      for (let i = 0; i < data.length; i++) {
        const value = single ? Math.fround(Number(data[i])) : Number(data[i])
        const missing = Number.isNaN(value) || targets.some((target) => target === value)
        assert.equal(mask?.[i], missing ? 1 : 0, `${where}: mask at ${i} (${value})`)
        if (missing) assert.ok(Number.isNaN(values[i]), where)
        else assert.ok(Object.is(values[i], value), `${where}: value at ${i}`)
      }
    }
  })
})
