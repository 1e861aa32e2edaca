// PausableTimeout: an attempt's timeout that does not run while the read waits for something other
// than the server (the store's unverified-read budget).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PausableTimeout } from '../src/util/abort.js'

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
/** The signal's reason once it fires; its timer is unref'd (as AbortSignal.timeout's), so the test keeps the process up. */
const fired = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => {
    const alive = setInterval(() => {}, 1_000)
    signal.addEventListener('abort', () => {
      clearInterval(alive)
      resolve(signal.reason)
    })
  })

describe('PausableTimeout', () => {
  it('does not fire during a wait far longer than it, and fires after it, as a TimeoutError', async () => {
    const timeout = new PausableTimeout(50)
    await timeout.offClock(after(300))
    assert.equal(timeout.signal.aborted, false, 'the wait was counted')
    const reason = await fired(timeout.signal)
    assert.equal((reason as Error).name, 'TimeoutError')
  })

  it('overlapping waits stop the clock once; clear() stops it for good', async () => {
    const timeout = new PausableTimeout(50)
    await Promise.all([timeout.offClock(after(200)), timeout.offClock(after(300))])
    assert.equal(timeout.signal.aborted, false)
    timeout.clear()
    await after(150)
    assert.equal(timeout.signal.aborted, false, 'fired after clear()')
  })

  it('fires without a wait', async () => {
    const timeout = new PausableTimeout(20)
    assert.equal(((await fired(timeout.signal)) as Error).name, 'TimeoutError')
  })
})
