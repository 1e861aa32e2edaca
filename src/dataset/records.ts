// A selection as rows, one per value: each dimension's label, the scalar coordinates, the value;
// as objects (`toRecords`) or CSV text. Times are ISO strings, NaN is null (an empty CSV field).
import { CFDatetime } from './cf-time.js'
import type { CoordinateValue, DataRecord } from './interface.js'

export type Cell = number | string | null

/**
 * Sets `record[key]` as an own property whatever the key: names come from the dataset, and an
 * assignment to `__proto__` would replace the record's prototype instead.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
  } else record[key] = value
}

export function cellOf(value: CoordinateValue): Cell {
  if (value instanceof CFDatetime) return value.toISOString()
  if (value === undefined || Number.isNaN(value)) return null
  return value
}

/** The labels of a block: per kept dimension, its cells along the block. */
export interface BlockLabels {
  readonly dims: readonly string[]
  readonly cells: readonly (readonly Cell[])[]
  readonly scalars: Readonly<Record<string, Cell>>
}

/** Rows of a block of `values` (C order over the cells' lengths). */
export function* rowsOf(labels: BlockLabels, name: string, values: Float64Array): Generator<DataRecord> {
  const { dims, cells } = labels
  const index = dims.map(() => 0)
  for (let j = 0; j < values.length; j++) {
    const row: DataRecord = {}
    for (let d = 0; d < dims.length; d++)
      setOwn(row, dims[d] as string, (cells[d] as Cell[])[index[d] as number] as Cell)
    for (const [scalar, cell] of Object.entries(labels.scalars)) setOwn(row, scalar, cell)
    const value = values[j] as number
    // A coordinate read as a variable: its label is its value, decoded (a time as ISO, not its raw number).
    if (!Object.hasOwn(row, name)) setOwn<Cell>(row, name, Number.isNaN(value) ? null : value)
    yield row
    for (let d = dims.length - 1; d >= 0; d--) {
      const next = (index[d] as number) + 1
      if (next < (cells[d] as Cell[]).length) {
        index[d] = next
        break
      }
      index[d] = 0
    }
  }
}

function csvField(cell: Cell | undefined): string {
  if (cell === null || cell === undefined) return ''
  const text = String(cell)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** The columns of the rows: each dimension, each scalar coordinate, the value (once: a coordinate is its own dimension). */
function columnsOf(labels: BlockLabels, name: string): string[] {
  return [...new Set([...labels.dims, ...Object.keys(labels.scalars), name])]
}

export function csvHeader(labels: BlockLabels, name: string): string {
  return `${columnsOf(labels, name).map(csvField).join(',')}\n`
}

/** CSV lines (each ending in a newline) of a block, without the header. */
export function csvRows(labels: BlockLabels, name: string, values: Float64Array): string {
  const columns = columnsOf(labels, name)
  let text = ''
  for (const row of rowsOf(labels, name, values))
    text += `${columns.map((c) => csvField(row[c])).join(',')}\n`
  return text
}
