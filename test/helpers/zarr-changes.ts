// diffZarrRoots' changes as sortable text lines, for the Zarr diff tests to compare with expected lines.
import type { ZarrChange } from '../../src/index.js'

/** A change as a sortable line, whatever its type. */
export function changeLine(change: ZarrChange): string {
  switch (change.type) {
    case 'chunk':
      return `chunk ${change.kind} ${change.path} ${change.coords.join(',')}`
    case 'node':
      return `node ${change.kind} ${change.path} ${change.nodeType}`
    case 'metadata':
      return `metadata ${change.kind} ${change.key}`
    case 'other':
      return `other ${change.kind} ${change.key}`
  }
}

/** Every change as a line, sorted. */
export async function changeLines(changes: AsyncIterable<ZarrChange>): Promise<string[]> {
  const out: string[] = []
  for await (const change of changes) out.push(changeLine(change))
  return out.sort()
}
