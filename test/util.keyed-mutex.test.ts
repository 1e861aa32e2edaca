// KeyedMutex, built on the one RwLock: calls of one key run one at a time in arrival order, keys
// do not wait for each other, an aborted wait leaves the queue, and an idle mutex holds nothing.
import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { KeyedMutex } from '../src/util/keyed-mutex.js'

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('KeyedMutex', () => {
  it('runs one call per key at a time, in arrival order; other keys run meanwhile', async () => {
    const mutex = new KeyedMutex()
    const log: string[] = []
    let active = 0
    const call = (key: string, name: string, ticks: number) =>
      mutex.run(key, async () => {
        active++
        log.push(`start ${name}`)
        for (let i = 0; i < ticks; i++) await tick()
        log.push(`end ${name}`)
        active--
        return name
      })
    const results = await Promise.all([
      call('a', 'a1', 3),
      call('a', 'a2', 1),
      call('b', 'b1', 1),
      call('a', 'a3', 0),
    ])
    assert.deepEqual(results, ['a1', 'a2', 'b1', 'a3'])
    const a = log.filter((e) => e.includes(' a'))
    assert.deepEqual(a, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'])
    assert.ok(log.indexOf('end b1') < log.indexOf('end a1'), 'key b did not wait for key a')
    assert.equal(active, 0)
    assert.equal(mutex.size, 0, 'an idle mutex holds no lock')
  })

  it('a failure releases the key; an aborted wait leaves the queue and its listener', async () => {
    const mutex = new KeyedMutex()
    let release!: () => void
    const holder = mutex.run('k', () => new Promise<void>((resolve) => (release = resolve)))
    await assert.rejects(
      mutex.run(
        'k',
        async () => {
          throw new Error('unreachable')
        },
        AbortSignal.abort(),
      ),
      { name: 'AbortError' },
    )
    const controller = new AbortController()
    let ran = false
    const waiting = mutex.run(
      'k',
      async () => {
        ran = true
      },
      controller.signal,
    )
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
    controller.abort()
    await assert.rejects(waiting, { name: 'AbortError' })
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
    const failing = mutex.run('k', async () => {
      throw new Error('boom')
    })
    release()
    await holder
    await assert.rejects(failing, /boom/)
    assert.equal(ran, false)
    assert.equal(await mutex.run('k', async () => 'after'), 'after')
    assert.equal(mutex.size, 0)
  })
})
