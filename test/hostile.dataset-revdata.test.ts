// Sharded Zarr v3 arrays zarr-python writes and reads, laid out in ways zarrita's sharding reader does
// not follow: it reads the shard alone (codecs around the sharding codec skipped) with its index at
// the end. Each must read as xarray reads it or be a typed error naming the codec, never other values.
// And Zarr v2 arrays whose .zattrs declare a _FillValue beside .zarray's fill_value: xarray masks
// with fill_value (it overwrites the attribute), the attribute only where fill_value is null. A
// Zarr v3 bool's numeric _FillValue is Python's bool() of it, as xarray decodes it.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { loadBlake3 } from '../src/blocks.js'
import { openDataset } from '../src/dataset.js'
import { assertTypedError } from './helpers/hostile.js'
import { hamtOfDirectory } from './helpers/maps.js'
import { pyHamtPython } from './helpers/python.js'

await loadBlake3()
const dir = mkdtempSync(join(tmpdir(), 'ts-hamt-revdata-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `script` in py-hamt's Python with `input` as JSON on stdin: its JSON answer. */
async function python(script: string, input: unknown): Promise<unknown> {
  const child = promisify(execFile)(await pyHamtPython(), ['-W', 'ignore', '-c', script], {
    maxBuffer: 1 << 24,
  })
  child.child.stdin?.end(JSON.stringify(input))
  return JSON.parse((await child).stdout)
}

/** Each case: zarr-python's codecs for an int32 array x(a, b) of shape [4, 4] holding 0..15. */
const CASES = {
  // Valid v3 (codecs in order: transpose, then the sharding codec); zarrita skipped the transpose.
  transposeThenShards:
    'filters=[TransposeCodec(order=(1, 0))], serializer=ShardingCodec(chunk_shape=(2, 2)), compressors=None',
  indexAtStart: "serializer=ShardingCodec(chunk_shape=(2, 2), index_location='start'), compressors=None",
  checksumAfterShards: 'serializer=ShardingCodec(chunk_shape=(2, 2)), compressors=[Crc32cCodec()]',
  nestedShards:
    'serializer=ShardingCodec(chunk_shape=(2, 2), codecs=[ShardingCodec(chunk_shape=(1, 1))]), compressors=None',
  // The case the refusals must leave alone: a transpose inside the shard reads.
  transposeInShards:
    'serializer=ShardingCodec(chunk_shape=(2, 2), codecs=[TransposeCodec(order=(1, 0)), BytesCodec()]), compressors=None',
}

/** zarr-python writes each case as dir/<name>.zarr; xarray's values of x come back, C order. */
async function writeCases(): Promise<Record<string, number[]>> {
  const script = `
import json, sys, numpy as np, xarray as xr, zarr
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, TransposeCodec
out = {}
for name, codecs in json.load(sys.stdin).items():
    path = f"${dir}/{name}.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=3)
    x = eval(f"group.create_array('x', shape=(4, 4), chunks=(4, 4), dtype='int32', fill_value=0, dimension_names=['a', 'b'], {codecs})")
    x[...] = np.arange(16).reshape(4, 4)
    out[name] = xr.open_zarr(path, consolidated=False)["x"].values.ravel().tolist()
print(json.dumps(out))
`
  return (await python(script, CASES)) as Record<string, number[]>
}

describe('sharded arrays zarrita reads its own way', () => {
  it('read as xarray reads them, or ERR_INVALID_VALUE naming what zarrita skips', async () => {
    const expected = await writeCases()
    for (const name of Object.keys(CASES)) {
      const { root, store } = await hamtOfDirectory(join(dir, `${name}.zarr`))
      const x = (await openDataset(root, { store })).variable('x')
      let outcome: { value?: number[]; error?: unknown }
      try {
        outcome = { value: [...(await x.load()).values].map(Number) }
      } catch (error) {
        outcome = { error }
      }
      assert.deepEqual(expected[name], [...Array(16).keys()], `${name}: xarray's values`)
      if (name === 'transposeInShards') {
        assert.deepEqual(outcome.value, expected[name], `${name}: ${String(outcome.error)}`)
        continue
      }
      // Values other than xarray's are the failure this test exists for.
      if (outcome.value !== undefined) assert.deepEqual(outcome.value, expected[name], name)
      assertTypedError(outcome, 'ERR_INVALID_VALUE')
      assert.match(String((outcome.error as Error).message), /shard/, name)
    }
  })
})

/** Zarr v2 arrays x(a) (dtype, .zarray fill_value, .zattrs _FillValue, values) as a stranger's tool leaves them. */
const V2_FILLS = {
  float: ['f8', 0.0, 5, [0, 5, 1, 2]],
  int: ['i2', 0, 5, [0, 5, 1, 2]],
  bool: ['bool', false, true, [true, false, true, false]],
  nullFill: ['f8', null, 5, [0, 5, 1, 2]],
}

/** zarr-python writes each, the attribute is added to .zattrs; xarray's values come back (NaN as null). */
async function writeV2Fills(): Promise<Record<string, Array<number | null>>> {
  const script = `
import json, sys, numpy as np, xarray as xr, zarr
out = {}
for name, (dtype, fill, attr, values) in json.load(sys.stdin).items():
    path = f"${dir}/{name}.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=2)
    x = group.create_array("x", shape=(4,), chunks=(4,), dtype=dtype, fill_value=fill,
                           attributes={"_ARRAY_DIMENSIONS": ["a"], "_FillValue": attr})
    x[...] = np.array(values)
    got = xr.open_zarr(path, consolidated=False)["x"].values.astype("f8")
    out[name] = [None if np.isnan(v) else float(v) for v in got]
print(json.dumps(out))
`
  return (await python(script, V2_FILLS)) as Record<string, Array<number | null>>
}

describe('Zarr v2 fill_value beside a _FillValue attribute', () => {
  it('masks as xarray masks: with fill_value, the attribute only where fill_value is null', async () => {
    const expected = await writeV2Fills()
    for (const name of Object.keys(V2_FILLS)) {
      const { root, store } = await hamtOfDirectory(join(dir, `${name}.zarr`))
      const x = (await openDataset(root, { store })).variable('x')
      const got = [...(await x.load()).values].map((v) => (Number.isNaN(Number(v)) ? null : Number(v)))
      assert.deepEqual(got, expected[name], name)
    }
  })
})

describe('Zarr v3 bool with a numeric _FillValue', () => {
  it("masks the values xarray masks: Python's bool() of the number", async () => {
    const cases = { two: 2, minusOne: -1, zero: 0, half: 0.5 }
    const script = `
import json, sys, numpy as np, xarray as xr, zarr
out = {}
for name, fill in json.load(sys.stdin).items():
    path = f"${dir}/bool-{name}.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=3)
    x = group.create_array("x", shape=(4,), chunks=(4,), dtype="bool", fill_value=False,
                           dimension_names=["a"], attributes={"_FillValue": fill})
    x[...] = np.array([True, False, True, False])
    got = xr.open_zarr(path, consolidated=False)["x"].values.astype("f8")
    out[name] = [None if np.isnan(v) else float(v) for v in got]
print(json.dumps(out))
`
    const expected = (await python(script, cases)) as Record<string, Array<number | null>>
    for (const name of Object.keys(cases)) {
      const { root, store } = await hamtOfDirectory(join(dir, `bool-${name}.zarr`))
      const x = (await openDataset(root, { store })).variable('x')
      const got = [...(await x.load()).values].map((v) => (Number.isNaN(Number(v)) ? null : Number(v)))
      assert.deepEqual(got, expected[name], name)
    }
  })
})
