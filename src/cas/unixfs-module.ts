// ipfs-unixfs is loaded at its first use, not with the package: with its protobuf runtime and what
// they bring it was 31 modules, ~35 ms of CPU of every import of the package root, for users who
// never read or write a UnixFS file.
import type { UnixFS } from 'ipfs-unixfs'

let loading: Promise<typeof UnixFS> | undefined

/** The `UnixFS` class of ipfs-unixfs, loaded once (a failed load is tried again at the next call). */
export function loadUnixfs(): Promise<typeof UnixFS> {
  loading ??= import('ipfs-unixfs').then(
    (module) => module.UnixFS,
    (error: unknown) => {
      loading = undefined
      throw error
    },
  )
  return loading
}
