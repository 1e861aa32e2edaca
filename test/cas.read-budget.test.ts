// The shared budget of unverified reads (src/cas/read-budget.ts): reads wait oldest first, a
// deadlock (every holder waiting) stops the youngest holder, and a stopped read starts again only
// once it is the oldest read under way.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ReadBudget } from '../src/cas/read-budget.js'

const refused = (held: number) => new Error(`refused at ${held}`)
const settled = async <T>(promise: Promise<T>): Promise<string> => {
  const tag = await Promise.race([
    promise.then(
      () => 'granted',
      (error: Error) => error.message,
    ),
    new Promise<string>((resolve) => setImmediate(() => resolve('waiting'))),
  ])
  return tag
}

describe('ReadBudget', () => {
  it('grants what fits at once and makes a later read wait for an earlier one’s release', async () => {
    const budget = new ReadBudget(10)
    const [a, b] = [budget.share(), budget.share()]
    await a.hold(6, undefined, refused)
    const waiting = b.hold(6, undefined, refused)
    assert.equal(await settled(waiting), 'waiting')
    a.release()
    assert.equal(await settled(waiting), 'granted')
    assert.equal(b.held, 6)
  })

  it('when every holder waits, the youngest is stopped and gives its bytes back', async () => {
    const budget = new ReadBudget(10)
    const [a, b, c] = [budget.share(), budget.share(), budget.share()]
    await a.hold(4, undefined, refused)
    await b.hold(3, undefined, refused)
    await c.hold(3, undefined, refused)
    const aMore = a.hold(6, undefined, refused)
    const bMore = b.hold(4, undefined, refused)
    assert.equal(await settled(aMore), 'waiting', 'c still reads: nothing is stopped')
    const cMore = c.hold(4, undefined, refused)
    // All three wait: c (youngest) is stopped; its 3 bytes let a, then b, go on.
    assert.equal(await settled(cMore), 'refused at 3')
    assert.equal(await settled(aMore), 'granted')
    assert.equal(await settled(bMore), 'granted')
    assert.deepEqual([a.held, b.held, c.held], [6, 4, 0])
  })

  it('a stopped read takes its turn only once every older read ended', async () => {
    const budget = new ReadBudget(10)
    const [a, b] = [budget.share(), budget.share()]
    const bTurn = b.turn(undefined)
    assert.equal(await settled(bTurn), 'waiting')
    const c = budget.share() // younger: b's turn does not wait for it
    const cTurn = c.turn(undefined)
    a.end()
    assert.equal(await settled(bTurn), 'granted')
    assert.equal(await settled(cTurn), 'waiting', 'c is younger than b, which is under way')
    b.end()
    assert.equal(await settled(cTurn), 'granted')
  })

  it('an abort takes a waiting read out of the queue; the next one is granted', async () => {
    const budget = new ReadBudget(10)
    const [a, b, c] = [budget.share(), budget.share(), budget.share()]
    await a.hold(8, undefined, refused)
    const controller = new AbortController()
    const bWait = b.hold(5, controller.signal, refused)
    const cWait = c.hold(2, undefined, refused)
    assert.equal(await settled(cWait), 'waiting', 'c waits behind b, oldest first')
    controller.abort(new Error('stop'))
    assert.equal(await settled(bWait), 'stop')
    assert.equal(await settled(cWait), 'granted')
  })
})
