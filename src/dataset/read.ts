// Reads a view's values block by block: the selection is cut at chunk edges along its first
// dimension (and deeper when a block would hold too many values), so each block is a C-order run of
// the result and memory stays bounded however large the selection.
import * as zarr from 'zarrita'
import type { AbortOptions } from '../cas/interface.js'
import { InvalidArgumentError, InvalidValueError, isHamtError } from '../errors.js'
import type { CFValueDecoder, NumericArray } from './cf.js'
import { halvesAsFloat32 } from './checked-array.js'
import type { DataBlock } from './interface.js'
import { type DimSelection, positionAt, sizeOf } from './selection.js'

/** A stored Zarr array as a view reads it. */
export interface StoredArray {
  readonly name: string
  readonly dims: readonly string[]
  readonly shape: readonly number[]
  readonly chunks: readonly number[]
  readonly dtype: string
  /** The attributes as xarray shows them after decode_cf. */
  readonly attrs: Readonly<Record<string, unknown>>
  /** The attributes as stored. */
  readonly rawAttrs: Readonly<Record<string, unknown>>
  open(options?: AbortOptions): Promise<zarr.Array<zarr.DataType, zarr.Readable>>
  /** The CF decoder of its attributes (made on first use). */
  cf(): CFValueDecoder
  /** Stored values to decoded doubles (CF scale/offset, fill values NaN), into `into` when given. */
  decode(raw: NumericArray, into?: Float64Array): Float64Array
}

/** Where a block lies in the result (positions along the kept dimensions). */
export interface BlockPlan {
  readonly start: number[]
  readonly shape: number[]
  readonly offset: number
}

const product = (values: readonly number[]): number => values.reduce((a, b) => a * b, 1)

/** Runs of view positions `[from, to)` whose stored positions fall in one chunk. */
function* chunkRuns(selection: DimSelection, chunk: number): Generator<[number, number]> {
  const size = sizeOf(selection)
  if (selection.kind === 'range') {
    const { start, step } = selection
    for (let p = 0; p < size; ) {
      // The last view position still in this chunk: before its end going up, at or after its start going down.
      const chunkStart = Math.floor((start + p * step) / chunk) * chunk
      const to =
        step > 0
          ? Math.floor((chunkStart + chunk - 1 - start) / step) + 1
          : Math.floor((start - chunkStart) / -step) + 1
      yield [p, Math.min(size, to)]
      p = Math.min(size, to)
    }
    return
  }
  for (let p = 0; p < size; ) {
    const inChunk = Math.floor(positionAt(selection, p) / chunk)
    let to = p + 1
    while (to < size && Math.floor(positionAt(selection, to) / chunk) === inChunk) to++
    yield [p, to]
    p = to
  }
}

/**
 * Chunk runs of a range merged while they hold at most `limit` positions, so that one read fetches
 * many chunks at once (a point's time series over one-step chunks is one read, not one per step).
 * A list's runs stay apart: a read covers a list's bounding box.
 */
function* mergedRuns(selection: DimSelection, chunk: number, limit: number): Generator<[number, number]> {
  if (selection.kind !== 'range') {
    yield* chunkRuns(selection, chunk)
    return
  }
  let current: [number, number] | undefined
  for (const [from, to] of chunkRuns(selection, chunk)) {
    if (current !== undefined && to - current[0] <= limit) current[1] = to
    else {
      if (current !== undefined) yield current
      current = [from, to]
    }
  }
  if (current !== undefined) yield current
}

/** The blocks of a view, in C order of the result, each at most `maxValues` values where chunks allow. */
export function* planBlocks(
  selections: readonly DimSelection[],
  chunks: readonly number[],
  maxValues: number,
): Generator<BlockPlan> {
  const kept = selections.flatMap((s, d) => (s.kind === 'point' ? [] : [d]))
  const sizes = kept.map((d) => sizeOf(selections[d] as DimSelection))
  if (product(sizes) === 0) return
  if (kept.length === 0) {
    yield { start: [], shape: [], offset: 0 }
    return
  }
  const last = kept.length - 1
  // A block spans a list whole only when the list stays in one chunk: zarrita reads a list's
  // bounding box, which for scattered positions could be the whole dimension.
  const compact = kept.map((d) => {
    const selection = selections[d] as DimSelection
    if (selection.kind !== 'list') return true
    const runs = chunkRuns(selection, chunks[d] as number)
    runs.next()
    return runs.next().done === true
  })
  const compactAfter = kept.map((_, depth) => compact.slice(depth + 1).every(Boolean))
  function* walk(depth: number, prefix: number[], offset: number): Generator<BlockPlan> {
    const rest = product(sizes.slice(depth + 1))
    const d = kept[depth] as number
    const limit = Math.max(1, Math.floor(maxValues / rest))
    for (const [from, to] of mergedRuns(selections[d] as DimSelection, chunks[d] as number, limit)) {
      if (((to - from) * rest <= maxValues && compactAfter[depth]) || depth === last) {
        const step = depth === last ? Math.max(1, maxValues) : to - from
        for (let p = from; p < to; p += step) {
          const end = Math.min(to, p + step)
          yield {
            start: [...prefix, p, ...sizes.slice(depth + 1).map(() => 0)],
            shape: [...prefix.map(() => 1), end - p, ...sizes.slice(depth + 1)],
            offset: offset + p * rest,
          }
        }
      } else {
        for (let p = from; p < to; p++) yield* walk(depth + 1, [...prefix, p], offset + p * rest)
      }
    }
  }
  yield* walk(0, [], 0)
}

/**
 * Reads one planned block of the view and decodes it; with `into` (the whole result, as `load` holds
 * it), into its place there rather than into an array of its own that would then be copied.
 */
export async function readBlock(
  source: StoredArray,
  selections: readonly DimSelection[],
  plan: BlockPlan,
  options: AbortOptions,
  into?: Float64Array,
): Promise<DataBlock> {
  // Every dimension as a slice (a point as one position), so zarrita always hands back an array.
  const selection: zarr.Slice[] = []
  const shape: number[] = []
  const offsets: (readonly number[] | undefined)[] = []
  let k = 0
  for (const sel of selections) {
    if (sel.kind === 'point') {
      selection.push(zarr.slice(sel.index, sel.index + 1))
      shape.push(1)
      offsets.push(undefined)
      continue
    }
    const from = plan.start[k] as number
    const length = plan.shape[k] as number
    k++
    shape.push(length)
    if (sel.kind === 'range' && sel.step > 0) {
      const first = sel.start + from * sel.step
      selection.push(zarr.slice(first, first + (length - 1) * sel.step + 1, sel.step))
      offsets.push(undefined)
    } else if (sel.kind === 'range') {
      // zarrita slices up only: the same positions read up, then taken in reverse.
      const lowest = sel.start + (from + length - 1) * sel.step
      selection.push(zarr.slice(lowest, sel.start + from * sel.step + 1, -sel.step))
      offsets.push(Array.from({ length }, (_, i) => length - 1 - i))
    } else {
      const picked = sel.indices.slice(from, from + length)
      const min = Math.min(...picked)
      selection.push(zarr.slice(min, Math.max(...picked) + 1))
      offsets.push(picked.map((i) => i - min))
    }
  }
  const got = await readTyped(source, selection, options)
  const raw =
    typeof got === 'object' && got !== null && 'stride' in got
      ? gather(source.name, got as zarr.Chunk<zarr.DataType>, shape, offsets)
      : scalarArray(source, got)
  const place = into?.subarray(plan.offset, plan.offset + raw.length)
  return { start: plan.start, shape: plan.shape, offset: plan.offset, values: source.decode(raw, place) }
}

/**
 * A chunk may overhang its array (room to append) by this factor of the part inside it, or up to
 * this many values (as many as a coordinate read at open may hold).
 */
const MAX_CHUNK_OVERHANG = 16
const MIN_CHUNK_ALLOWANCE = 1 << 24

/**
 * zarrita allocates a whole chunk to read any of it, a missing one too (filled): a chunk declared
 * far larger than the array would cost memory no stored byte accounts for, so it is refused.
 */
export function checkChunkSize(source: Pick<StoredArray, 'name' | 'shape' | 'chunks'>): void {
  let declared = 1
  let inside = 1
  source.chunks.forEach((size, d) => {
    declared *= size
    inside *= Math.min(size, source.shape[d] as number)
  })
  if (declared > Math.max(MIN_CHUNK_ALLOWANCE, inside * MAX_CHUNK_OVERHANG)) {
    throw new InvalidValueError(
      `cannot read ${JSON.stringify(source.name)}: its chunks [${source.chunks}] hold ${declared} values, far more than its shape [${source.shape}] needs`,
    )
  }
}

/** zarrita's read of `selection`; its own failures (codecs, metadata) become InvalidValueError. */
async function readTyped(
  source: StoredArray,
  selection: zarr.Slice[],
  options: AbortOptions,
): Promise<unknown> {
  checkChunkSize(source)
  try {
    const got = await zarr.get(await source.open(options), selection, { signal: options.signal })
    return halvesAsFloat32(source.dtype, got)
  } catch (error) {
    if (isHamtError(error) || options.signal?.aborted) throw error
    throw new InvalidValueError(
      `cannot read ${JSON.stringify(source.name)}: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
      },
    )
  }
}

/**
 * A bool chunk's values as bytes 1 and 0, as NumPy's casts read them: a stranger's byte 2 is True
 * (zarrita's BoolArray holds the stored bytes as they are).
 */
function boolBytes(data: zarr.BoolArray): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length)
  return bytes.every((byte) => byte <= 1) ? bytes : bytes.map((byte) => (byte === 0 ? 0 : 1))
}

/** A 0-d array's one value, as a typed array of its dtype. */
function scalarArray(source: StoredArray, value: unknown): NumericArray {
  if (typeof value === 'boolean') return Uint8Array.of(value ? 1 : 0)
  if (typeof value === 'bigint')
    return source.dtype === 'uint64' ? BigUint64Array.of(value) : BigInt64Array.of(value)
  const Typed = SCALAR_TYPES[source.dtype]
  if (Typed === undefined || typeof value !== 'number') {
    throw new InvalidValueError(
      `variable ${JSON.stringify(source.name)} has dtype ${source.dtype}: only numbers can be read`,
    )
  }
  return Typed.of(value)
}

const SCALAR_TYPES: Record<string, { of(value: number): NumericArray }> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  // The runtime's Float16Array (Node 24, recent browsers); elsewhere float16 is read into float32s.
  float16:
    (globalThis as { Float16Array?: { of(value: number): NumericArray } }).Float16Array ?? Float32Array,
}

/** The block's values in C order from what zarrita read (a bounding box where a dimension takes a list). */
function gather(
  name: string,
  chunk: zarr.Chunk<zarr.DataType>,
  shape: readonly number[],
  offsets: readonly (readonly number[] | undefined)[],
): NumericArray {
  const data = (chunk.data instanceof zarr.BoolArray ? boolBytes(chunk.data) : chunk.data) as NumericArray
  if (!ArrayBuffer.isView(data)) {
    throw new InvalidValueError(`variable ${JSON.stringify(name)} does not hold numbers`)
  }
  const cOrder = chunk.stride.every((s, i) => s === product(chunk.shape.slice(i + 1)) || chunk.shape[i] === 1)
  if (cOrder && offsets.every((o) => o === undefined)) return data
  const n = product(shape)
  const out = new (data.constructor as new (n: number) => NumericArray)(n)
  const index = shape.map(() => 0)
  const at = (d: number, i: number): number =>
    ((offsets[d]?.[i] ?? i) as number) * (chunk.stride[d] as number)
  for (let j = 0; j < n; j++) {
    let from = 0
    for (let d = 0; d < shape.length; d++) from += at(d, index[d] as number)
    out[j] = data[from] as never
    for (let d = shape.length - 1; d >= 0; d--) {
      const next = (index[d] as number) + 1
      if (next < (shape[d] as number)) {
        index[d] = next
        break
      }
      index[d] = 0
    }
  }
  return out
}

export function checkLimit(name: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`)
  }
  return limit
}
