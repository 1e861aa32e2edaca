// String coordinates (station ids): a dataset xarray writes through the real py-hamt 3.6.0, Zarr v3
// (`string`, vlen-utf8) and v2 (`<U`, vlen-utf8 filter); coords, exact sel by a string or a list,
// slices, and records match xarray's answers on the same store.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bytesToHex, hexToBytes } from '../src/blocks.js'
import type { LabelIndexer } from '../src/dataset/interface.js'
import { openDataset } from '../src/dataset.js'
import { isHamtError, MemoryStore } from '../src/index.js'
import { pyHamtPython } from './helpers/python.js'

const driver = fileURLToPath(new URL('./interop/strings_driver.py', import.meta.url))

type Answer =
  | { ok: true; stations: string | string[]; values: number[] | number[][] }
  | { ok: false; error: string }
type Written = {
  root: string
  blocks: Record<string, string>
  records: Array<Record<string, unknown>>
  results: Answer[]
}

async function xarray(request: unknown): Promise<Written> {
  const python = await pyHamtPython()
  return new Promise((resolve, reject) => {
    const child = execFile(python, [driver], { maxBuffer: 64 << 20, timeout: 120_000 }, (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout) as Written),
    )
    child.stdin?.end(JSON.stringify(request))
  })
}

const stations = ['KJFK', 'EGLL', '\u{1F600}', 'RJTT', 'Zürich', 'LFPG', '\uFF21']
// In Python's (code point) order: U+FF21 before U+1F600, where JS's sort() puts it after.
const sorted = ['EGLL', 'KJFK', 'LFPG', 'RJTT', 'Zürich', '\uFF21', '\u{1F600}']
const selections: Array<LabelIndexer | { slice: [string | null, string | null] }> = [
  'EGLL',
  'Zürich',
  ['RJTT', 'KJFK'],
  'XXXX',
  { slice: ['EGLL', 'KJFK'] },
]
const sortedSelections: Array<LabelIndexer | { slice: [string | null, string | null] }> = [
  { slice: ['EGLL', 'KJFK'] },
  { slice: ['B', 'L'] },
  { slice: [null, 'LFPG'] },
  { slice: ['Z', null] },
  { slice: ['\uFF21', '\u{1F600}'] },
  '\u{1F600}',
  ['LFPG'],
]

function labelOf(sel: LabelIndexer | { slice: [string | null, string | null] }): LabelIndexer {
  if (typeof sel === 'object' && sel !== null && !Array.isArray(sel) && 'slice' in sel) {
    const [start, stop] = (sel as { slice: [string | null, string | null] }).slice
    return { start: start ?? undefined, stop: stop ?? undefined }
  }
  return sel
}

for (const zarrFormat of [3, 2]) {
  for (const [order, names, cases] of [
    ['unordered', stations, selections],
    ['sorted', sorted, sortedSelections],
  ] as const) {
    describe(`string coordinates, Zarr v${zarrFormat}, ${order}`, async () => {
      const written = await xarray({ zarrFormat, stations: names, selections: cases })
      const store = await MemoryStore.create()
      for (const [id, data] of Object.entries(written.blocks)) {
        assert.equal(bytesToHex((await store.save(hexToBytes(data), 'raw')) as Uint8Array), id)
      }
      const ds = await openDataset(hexToBytes(written.root), { store })
      const temp = ds.variable('temp')

      it('coords and records show the strings, as xarray', async () => {
        assert.deepEqual(ds.coords.station, names)
        assert.deepEqual(temp.coords.station, names)
        const loaded = await temp.load()
        assert.deepEqual(loaded.toRecords(), written.records)
        assert.equal(loaded.toCSV().split('\n')[1], `${names[0]},0,0`)
        assert.deepEqual((await ds.load()).toRecords(), written.records)
      })

      it('sel by a string, a list and a slice answers as xarray (a missing label, typed)', async () => {
        for (const [i, sel] of cases.entries()) {
          const want = written.results[i] as Answer
          const label = labelOf(sel)
          if (!want.ok) {
            assert.throws(
              () => temp.sel({ station: label }),
              (err) => isHamtError(err, 'ERR_LABEL_NOT_FOUND'),
              `${JSON.stringify(sel)}: xarray ${want.error}`,
            )
            continue
          }
          const view = temp.sel({ station: label })
          assert.deepEqual(view.coords.station, want.stations, JSON.stringify(sel))
          assert.deepEqual([...(await view.load()).values], want.values.flat(), JSON.stringify(sel))
          const viaDataset = ds.sel({ station: label }).variable('temp')
          assert.deepEqual(viaDataset.coords.station, want.stations)
        }
      })

      it('a number for a string coordinate, or nearest/tolerance, is refused, typed', () => {
        assert.throws(
          () => temp.sel({ station: 3 }),
          (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('station'),
        )
        assert.throws(
          () => temp.sel({ station: 'KJFK' }, { method: 'nearest' }),
          (err) => isHamtError(err, 'ERR_INVALID_ARGUMENT') && err.message.includes('station'),
        )
      })
    })
  }
}
