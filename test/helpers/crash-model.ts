/** The entries the crash test's writer adds in batch `n`: small values, and a UnixFS-sized one every third batch. */
export function crashBatchEntries(batch: number): Array<[string, unknown]> {
  const entries: Array<[string, unknown]> = []
  for (let i = 0; i < 300; i++) entries.push([`b${batch}-k${i}`, { batch, i }])
  if (batch % 3 === 0) {
    entries.push([
      `b${batch}-big`,
      Uint8Array.from({ length: (1 << 20) + 4096 }, (_, i) => (i + batch) & 255),
    ])
  }
  return entries
}
