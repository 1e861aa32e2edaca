// An OpenTelemetry setup that fails (a tracer that throws, a context manager that throws, spans that
// refuse attributes) and stores that throw at the call: reads give their answer as without telemetry,
// every span started is ended, and the retrieval stats running beside it still count every read.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, isHamtError, MemoryStore, StoreError } from '../src/index.js'
import { collectRetrievalStats, instrument, type OpenTelemetryApi } from '../src/telemetry/index.js'
import { otel, startOtel } from './helpers/otel.js'
import { mulberry32, testSeed } from './helpers/random.js'

const harness = startOtel()
const random = mulberry32(testSeed())

type Fault = 'none' | 'startSpan' | 'with' | 'setAttributes'

/** The real API module (over the SDK startOtel registered), with one of its parts failing; counts spans started. */
function faulty(fault: Fault): { api: OpenTelemetryApi; started: () => number } {
  let started = 0
  const api = {
    trace: {
      getTracer(name: string, version?: string) {
        const tracer = otel.trace.getTracer(name, version)
        return {
          startSpan(spanName: string, options?: otel.SpanOptions, context?: otel.Context) {
            if (fault === 'startSpan') throw new Error('tracer down')
            const span = tracer.startSpan(spanName, options, context)
            started++
            if (fault === 'setAttributes') {
              span.setAttributes = () => {
                throw new Error('attributes refused')
              }
            }
            return span
          },
        }
      },
      setSpan: (context: otel.Context, span: otel.Span) => otel.trace.setSpan(context, span),
    },
    context: {
      active: () => otel.context.active(),
      with(context: otel.Context, fn: () => unknown) {
        if (fault === 'with') throw new Error('context manager down')
        return otel.context.with(context, fn)
      },
    },
    metrics: otel.metrics,
  }
  return { api: api as unknown as OpenTelemetryApi, started: () => started }
}

/** A flushed map of a few keys in a MemoryStore; its store, root and entries. */
async function smallMap() {
  const store = await MemoryStore.create()
  const map = await HAMT.create<number>({ store })
  const entries = new Map<string, number>()
  for (let i = 0; i < 3 + Math.floor(random() * 20); i++) entries.set(`k${i}`, Math.floor(random() * 1e6))
  for (const [key, value] of entries) await map.set(key, value)
  return { store, root: await map.flush(), entries }
}

describe('telemetry whose OpenTelemetry part fails', () => {
  for (const fault of ['startSpan', 'with', 'setAttributes'] as const) {
    it(`${fault} throws: reads answer as before, every span started ends, the stats count every read`, async () => {
      const { store, root, entries } = await smallMap()
      const stats = collectRetrievalStats()
      const { api, started } = faulty(fault)
      const stop = instrument(api)
      harness.reset()
      try {
        const keys = [...entries.keys()]
        const rounds = 2 + Math.floor(random() * 5)
        for (let round = 0; round < rounds; round++) {
          // A fresh open each round: its lookup loads nodes from the store.
          const map = await HAMT.open<number>(root, { store })
          const key = keys[Math.floor(random() * keys.length)] as string
          assert.equal(await map.get(key), entries.get(key), `${fault}: ${key}`)
        }
        const snapshot = stats.snapshot()
        assert.equal(snapshot.lookups.requests, rounds, fault)
        assert.ok(snapshot.loads.requests >= rounds, `${fault}: ${snapshot.loads.requests} loads`)
        // One read at a time: a begin the stats never saw end would pile up here.
        assert.equal(snapshot.loads.maxInFlight, 1, fault)
        assert.equal(harness.spans().length, started(), `${fault}: spans ended of those started`)
      } finally {
        stop()
        stats.stop()
      }
    })
  }

  it('a store whose load throws at the call: the read rejects with its error, its spans end with status ERROR', async () => {
    const { store, root, entries } = await smallMap()
    const broken = new StoreError('load refused at the call')
    const throwing = Object.create(store, {
      load: {
        value: () => {
          throw broken
        },
      },
    }) as MemoryStore
    const map = await HAMT.open<number>(root, { store })
    const { api, started } = faulty('none')
    const stop = instrument(api)
    harness.reset()
    try {
      const reopened = await HAMT.open<number>(map.rootId as never, { store: throwing }).then(
        (m) => m.get([...entries.keys()][0] as string),
        (error: unknown) => error,
      )
      assert.equal(reopened, broken)
      assert.ok(started() > 0)
      assert.equal(harness.spans().length, started(), 'every span started has ended')
      for (const span of harness.spans()) assert.equal(span.status.code, otel.SpanStatusCode.ERROR, span.name)
    } finally {
      stop()
    }
  })
})

describe('span attributes stay bounded', () => {
  it('a lookup of a key of hundreds of KB: its span carries at most ~1 KiB of it', async () => {
    const { store, root } = await smallMap()
    const map = await HAMT.open<number>(root as never, { store })
    const length = 100_000 + Math.floor(random() * 400_000)
    const key = Array.from({ length }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('')
    const stop = instrument(otel)
    harness.reset()
    try {
      assert.equal(await map.get(key), undefined)
      const lookup = harness.spans().find((span) => span.name === 'py_hamt.hamt.lookup')
      const shown = lookup?.attributes['py_hamt.hamt.lookup.key'] as string
      assert.ok(shown.length <= 1025, `a ${length}-character key kept as ${shown.length} characters`)
      assert.ok(key.startsWith(shown.slice(0, -1)))
    } finally {
      stop()
    }
  })
})

describe('retrieval stats under many long keys', () => {
  it('10 000 lookups of distinct ~1 KiB keys: the tally keeps 64 characters a name on average (1 Mi at least), not all of them', async () => {
    const { setFlagsFromString } = await import('node:v8')
    const { runInNewContext } = await import('node:vm')
    setFlagsFromString('--expose-gc')
    const collectGarbage = runInNewContext('gc') as () => void
    const heapUsed = (): number => {
      collectGarbage()
      return process.memoryUsage().heapUsed
    }
    const map = await HAMT.create({ store: await MemoryStore.create() })
    const before = heapUsed()
    const stats = collectRetrievalStats({ maxTracked: 10_000 })
    for (let i = 0; i < 10_000; i++) {
      const length = 1000 + Math.floor(random() * 4000)
      await map.get(`${i}:`.padEnd(length, String.fromCharCode(97 + (i % 26))))
    }
    const kept = heapUsed() - before
    const snapshot = stats.snapshot()
    stats.stop()
    assert.equal(snapshot.lookups.requests, 10_000)
    // 10 000 names of 1 KiB would be 10 MiB and more; the 1 Mi characters kept are well under 4 MiB.
    assert.ok(kept < 4 * 2 ** 20, `the collector keeps ${(kept / 2 ** 20).toFixed(1)} MiB`)
    assert.equal(snapshot.truncated, true)
  })
})

describe('an API module that fails at instrument()', () => {
  it('a tracer or meter provider that throws when asked is ERR_INVALID_ARGUMENT with its error as cause; nothing stays attached', async () => {
    for (const part of ['getTracer', 'createCounter'] as const) {
      const failure = new Error(`${part} down`)
      const { api } = faulty('none')
      const broken = {
        ...api,
        trace: {
          ...api.trace,
          getTracer: part === 'getTracer' ? () => assert.fail(failure) : api.trace.getTracer,
        },
        metrics: {
          getMeter: (name: string) => {
            const meter = otel.metrics.getMeter(name)
            if (part !== 'createCounter') return meter
            return { ...meter, createCounter: () => assert.fail(failure) }
          },
        },
      } as unknown as OpenTelemetryApi
      assert.throws(
        () => instrument(broken),
        (error: unknown) => isHamtError(error, 'ERR_INVALID_ARGUMENT') && (error as Error).cause === failure,
        part,
      )
      // Nothing attached: a read makes no span through it.
      harness.reset()
      const { store, root, entries } = await smallMap()
      const map = await HAMT.open<number>(root as never, { store })
      const key = [...entries.keys()][0] as string
      assert.equal(await map.get(key), entries.get(key))
      assert.equal(harness.spans().length, 0, part)
    }
  })
})
