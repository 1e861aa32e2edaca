// Random Zarr histories (session 12's write-side attack): arrays of random geometry, dtype and fill
// value, and phases of zarr-level operations that zarr-python runs in test/interop/attackw12_driver.py.
import * as zarr from 'zarrita'

/** One array: what zarr-python's create_array is given. */
export type Spec = {
  name: string
  shape: number[]
  chunks: number[]
  dtype: string
  fill: number | boolean | 'NaN'
}
/** One zarr-level operation on an array (values flat in C order, NaN as null). */
export type Op =
  | { op: 'write'; array: string; start: number[]; stop: number[]; values: (number | null)[] }
  | { op: 'resize'; array: string; shape: number[] }
  | { op: 'attrs'; array: string; attrs: Record<string, unknown> }
/** What attackw12_driver.py's `history` answers: roots and store-call logs per phase, the last root's values, or where py-hamt refused. */
export type History = {
  roots: string[]
  logs: [string, string, string][][]
  values: Record<string, Flat>
  error?: string
}

/** An array's values as the driver flattens them. */
export type Flat = { shape: number[]; values: (number | null)[] }
const DTYPES = ['uint8', 'int16', 'int32', 'uint32', 'float32', 'float64', 'bool'] as const

/** What a history may hold: `v1` keeps the first array at least 1-d (and see below); `writesOnly` leaves out resizes, attribute rewrites and bools (zarrita writes it). */
export type HistoryKind = { v1?: boolean; writesOnly?: boolean }

/** A random history for one case: arrays, then 2 or 3 phases of zarr-level operations. */
export function generate(
  random: () => number,
  kind: HistoryKind = {},
): { arrays: Spec[]; phases: Op[][]; cps: number } {
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T
  const dim = (): number => (random() < 0.15 ? 0 : random() < 0.2 ? 1 : int(2, 7))
  const arrays: Spec[] = []
  for (let a = 0; a < int(1, 2); a++) {
    // A v1 store's primary array has at least one dimension (py-hamt opens v1 from a shape).
    // v1: other arrays get another rank, and a phase resizes at most once (py-hamt 3.6.0 compares
    // v1 array documents of the primary's rank with the shape the store was opened at, not the index's).
    const first = arrays[0]
    const ndim = kind.v1 ? (first === undefined ? int(1, 4) : (first.shape.length % 4) + 1) : int(0, 4)
    const dtype = pick(kind.writesOnly ? DTYPES.filter((d) => d !== 'bool') : DTYPES)
    const fill =
      dtype === 'bool' ? random() < 0.5 : dtype.startsWith('float') && random() < 0.5 ? 'NaN' : int(0, 3)
    arrays.push({
      name: `a${a}`,
      shape: Array.from({ length: ndim }, dim),
      chunks: Array.from({ length: ndim }, () => int(1, 4)),
      dtype,
      fill,
    })
  }
  const value = (spec: Spec): number | null => {
    if (random() < 0.3) return spec.fill === 'NaN' ? null : Number(spec.fill)
    if (spec.dtype === 'bool') return int(0, 1)
    if (spec.dtype.startsWith('float')) return random() < 0.1 ? null : int(-400, 400) / 4
    return spec.dtype.startsWith('u') ? int(0, 250) : int(-120, 120)
  }
  const shapes = new Map(arrays.map((a) => [a.name, [...a.shape]]))
  const phases: Op[][] = []
  for (let p = 0; p < int(2, 3); p++) {
    const ops: Op[] = []
    let resized = false
    for (let n = 0; n < int(1, 4); n++) {
      const spec = pick(arrays)
      const shape = shapes.get(spec.name) as number[]
      const roll = kind.writesOnly ? 0 : random()
      if (roll < 0.6) {
        const start = shape.map((s) => int(0, s))
        const stop = shape.map((s, i) => int(start[i] as number, s))
        const count = stop.reduce((acc, s, i) => acc * (s - (start[i] as number)), 1)
        // All-fill writes make zarr delete the chunks it covers.
        const allFill = random() < 0.2
        const values = Array.from({ length: count }, () =>
          allFill ? (spec.fill === 'NaN' ? null : Number(spec.fill)) : value(spec),
        )
        ops.push({ op: 'write', array: spec.name, start, stop, values })
      } else if (roll < 0.85 && shape.length > 0 && !(kind.v1 && resized)) {
        resized = true
        const next = shape.map(() => dim())
        shapes.set(spec.name, next)
        ops.push({ op: 'resize', array: spec.name, shape: next })
      } else {
        ops.push({ op: 'attrs', array: spec.name, attrs: { phase: p, n, note: pick(['', 'é', 'x']) } })
      }
    }
    phases.push(ops)
  }
  return { arrays, phases, cps: int(1, 7) }
}

/** Every value of an array as zarrita reads it through ts-hamt, flattened as the driver flattens. */
export async function readFlat(store: zarr.Readable, path: string): Promise<Flat> {
  const array = await zarr.open(zarr.root(store).resolve(path), { kind: 'array' })
  // zarrita cannot get() an array with a 0-length dimension: its shape is all there is.
  if (array.shape.includes(0)) return { shape: [...array.shape], values: [] }
  const got = await zarr.get(array)
  const flat = (v: unknown): number | null => {
    const n = Number(v)
    return Number.isNaN(n) ? null : n
  }
  if (array.shape.length === 0) return { shape: [], values: [flat(got)] }
  const { data, shape } = got as { data: ArrayLike<unknown>; shape: number[] }
  return { shape, values: Array.from(data, flat) }
}
