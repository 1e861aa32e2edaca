// Seeded randomness for generated test inputs: one seed a run, printed, replayed with TS_HAMT_SEED.

/** The run's seed: `TS_HAMT_SEED` when set (a replay), else a fresh one; printed either way. */
export function testSeed(): number {
  const seed = Number(process.env.TS_HAMT_SEED ?? Math.floor(Math.random() * 2 ** 31))
  console.log('seed', seed, '(replay with TS_HAMT_SEED)')
  return seed
}

/** mulberry32: a small seeded generator of floats in [0, 1), so a failing case replays from its seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
