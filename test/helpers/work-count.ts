// Work counted instead of timed: a case that must stay linear is run at two sizes and the work it
// did is compared, which a loaded or slow machine does not change (speed itself belongs in bench/).
import assert from 'node:assert/strict'

const typedArrayLength = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  'length',
)?.get as (this: Uint8Array) => number

/**
 * Runs `run` counting reads of any Uint8Array's `length` (every ID hash and byte comparison reads it
 * once or twice): a measure of work on bytes. Other Uint8Array work in the process meanwhile counts
 * too, so run nothing else alongside.
 */
export async function countLengthReads<T>(run: () => Promise<T> | T): Promise<{ value: T; reads: number }> {
  let reads = 0
  Object.defineProperty(Uint8Array.prototype, 'length', {
    configurable: true,
    get(this: Uint8Array) {
      reads++
      return typedArrayLength.call(this)
    },
  })
  try {
    const value = await run()
    return { value, reads }
  } finally {
    delete (Uint8Array.prototype as { length?: number }).length
  }
}

/**
 * Asserts that `run(size)` does linear work: at `size` it counts less than 3 times what it counts at
 * half of it (linear work doubles, quadratic work quadruples).
 */
export async function assertLinear(
  name: string,
  size: number,
  run: (size: number) => Promise<unknown> | unknown,
): Promise<void> {
  const half = (await countLengthReads(() => run(size / 2))).reads
  const whole = (await countLengthReads(() => run(size))).reads
  assert.ok(
    whole < 3 * half,
    `${name}: ${whole} byte-length reads at ${size}, ${half} at ${size / 2}: not linear`,
  )
}
