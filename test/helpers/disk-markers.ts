// Writer markers and collector locks as tests write them by hand (see src/cas/disk-lock.ts): one in
// an older version's text names no pid space, so only its age tells a dead holder's apart.
import { lutimes } from 'node:fs/promises'
import { pidSpace } from '../../src/cas/disk-lock.js'

/** Makes a hand-written marker or lock (or a link in its place) untouched since 1970: its lease ran out. */
export async function untouched(path: string): Promise<void> {
  await lutimes(path, 1, 1)
}

/** The name and text a writer marker of this version gives process `pid` started at `start`, in this pid space. */
export async function currentMarker(
  pid: number,
  start: string | number,
): Promise<{ name: string; text: string }> {
  const token = '0123456789abcdef'
  return {
    name: `.ts-hamt-writing-${pid}-${token}`,
    text: `${pid} ${start} ${token} ${(await pidSpace()) ?? '-'}\n`,
  }
}
