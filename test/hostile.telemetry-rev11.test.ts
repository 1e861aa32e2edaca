// Keys cut for telemetry (1024 characters and `…`) stay text: a cut inside a UTF-16 surrogate pair
// leaves a lone surrogate, which UTF-8 cannot carry (an OTLP exporter writes bytes a collector refuses).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HAMT, MemoryStore } from '../src/index.js'
import { collectRetrievalStats, instrument } from '../src/telemetry/index.js'
import { otel, startOtel } from './helpers/otel.js'
import { mulberry32, testSeed } from './helpers/random.js'

const harness = startOtel()
const random = mulberry32(testSeed())

describe('long keys cut for spans and stats', () => {
  it('a key whose 1024th character starts a surrogate pair is cut before the pair, not inside it', async () => {
    const map = await HAMT.create({ store: await MemoryStore.create() })
    // Emoji from U+1F300 up: each one surrogate pair; the pair straddles the cut at 1024.
    const emoji = () => String.fromCodePoint(0x1f300 + Math.floor(random() * 0x200))
    // The pair straddles the cut at 1024 in the span's key and (after `hamt:`) in the stats' key.
    const keys = [1023, 1024 - 'hamt:'.length - 1].map(
      (ks) => `${'k'.repeat(ks)}${emoji()}${emoji().repeat(50)}`,
    )
    const detach = instrument(otel)
    const stats = collectRetrievalStats()
    harness.reset()
    try {
      for (const key of keys) await map.get(key)
    } finally {
      detach()
    }
    const snapshot = stats.snapshot()
    stats.stop()
    const spanKeys = harness
      .spans()
      .map((span) => span.attributes['py_hamt.hamt.lookup.key'])
      .filter((value) => value !== undefined) as string[]
    assert.equal(spanKeys.length, 2)
    assert.equal(snapshot.topKeys.length, 2)
    const shown = [
      ...spanKeys.map((text) => ({ where: 'span attribute', text, whole: keys })),
      ...snapshot.topKeys.map(({ key }) => ({
        where: 'topKeys',
        text: key,
        whole: keys.map((k) => `hamt:${k}`),
      })),
    ]
    for (const { where, text, whole } of shown) {
      const end = text.charCodeAt(text.length - 2).toString(16)
      assert.ok(text.isWellFormed(), `${where}: ends in a lone surrogate (\\u${end})`)
      assert.ok(text.endsWith('…'), `${where}: not cut`)
      assert.ok(
        whole.some((full) => full.startsWith(text.slice(0, -1))),
        `${where}: not a cut of a key`,
      )
      assert.ok(text.length <= 1025, `${where}: ${text.length} characters`)
    }
  })
})
