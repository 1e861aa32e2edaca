// A selection as rows, one per coordinate tuple: each dimension's label, the scalar coordinates, a
// column per variable; as objects (`toRecords`) or CSV text. Times are ISO strings, NaN is null (an
// empty CSV field). One variable is the case of one column; a dataset joins its variables on their
// shared dimensions, a variable lacking a dimension repeated along it (as xarray's `to_dataframe`).
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

/** A variable's values as a column of the rows: `strides` per dimension of the labels, 0 where it has none. */
export interface Column {
  readonly name: string
  readonly values: Float64Array
  readonly strides: readonly number[]
}

/** The column of values laid out in C order over all the labels' dimensions. */
export function columnOf(labels: BlockLabels, name: string, values: Float64Array): Column {
  const strides: number[] = []
  let stride = 1
  for (let d = labels.dims.length - 1; d >= 0; d--) {
    strides[d] = stride
    stride *= (labels.cells[d] as readonly Cell[]).length
  }
  return { name, values, strides }
}

/** Rows over every tuple of the labels' cells (C order), a field per column. */
export function* joinedRows(labels: BlockLabels, columns: readonly Column[]): Generator<DataRecord> {
  const { dims, cells } = labels
  const total = cells.reduce((n, c) => n * c.length, 1)
  const index = dims.map(() => 0)
  for (let j = 0; j < total; j++) {
    const row: DataRecord = {}
    for (let d = 0; d < dims.length; d++)
      setOwn(row, dims[d] as string, (cells[d] as Cell[])[index[d] as number] as Cell)
    for (const [scalar, cell] of Object.entries(labels.scalars)) setOwn(row, scalar, cell)
    for (const column of columns) {
      // A coordinate read as a variable: its label is its value, decoded (a time as ISO, not its raw number).
      if (Object.hasOwn(row, column.name)) continue
      let at = 0
      for (let d = 0; d < dims.length; d++) at += (index[d] as number) * (column.strides[d] as number)
      const value = column.values[at] as number
      setOwn<Cell>(row, column.name, Number.isNaN(value) ? null : value)
    }
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

/** Rows of a block of one variable's `values` (C order over the cells' lengths). */
export function rowsOf(labels: BlockLabels, name: string, values: Float64Array): Generator<DataRecord> {
  return joinedRows(labels, [columnOf(labels, name, values)])
}

function csvField(cell: Cell | undefined): string {
  if (cell === null || cell === undefined) return ''
  const text = String(cell)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** The columns of the rows: each dimension, each scalar coordinate, each variable (a coordinate once). */
function columnsOf(labels: BlockLabels, names: readonly string[]): string[] {
  return [...new Set([...labels.dims, ...Object.keys(labels.scalars), ...names])]
}

export function csvHeader(labels: BlockLabels, names: readonly string[]): string {
  return `${columnsOf(labels, names).map(csvField).join(',')}\n`
}

/** CSV lines (each ending in a newline) of the rows, without the header. */
export function csvRows(labels: BlockLabels, columns: readonly Column[]): string {
  const names = columnsOf(
    labels,
    columns.map((c) => c.name),
  )
  let text = ''
  for (const row of joinedRows(labels, columns)) text += `${names.map((c) => csvField(row[c])).join(',')}\n`
  return text
}
