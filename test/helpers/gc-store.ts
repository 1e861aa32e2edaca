// Stores with three versions of a map and of a Zarr dataset, for the garbage-collection tests, and
// what a test checks after a collection: the blocks on disk and the blocks a root reaches.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { base32upper } from 'multiformats/bases/base32'
import { toHex } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import type { BlockSource } from '../../src/car/interface.js'
import { walkDag } from '../../src/car/walk.js'
import { verifyBlock } from '../../src/cas/verify.js'
import { type ContentAddressedStore, HAMT, ZarrHAMTStore } from '../../src/index.js'

/** The roots of each version, oldest first. */
export interface Versions {
  maps: CID[]
  datasets: CID[]
}

/**
 * A map written in three flushes (most nodes shared between versions, some values changed, a
 * UnixFS-sized value in the first) and a Zarr array appended to twice, each version one root.
 */
export async function writeVersions(store: ContentAddressedStore): Promise<Versions> {
  const maps: CID[] = []
  const map = await HAMT.create<unknown>({ store })
  for (let version = 0; version < 3; version++) {
    for (let i = 0; i < 400; i++) {
      if (version === 0 || i % 5 === version) await map.set(`key-${i}`, { i, version })
    }
    await map.set(`added-in-${version}`, version === 0 ? new Uint8Array((1 << 20) + 100).fill(7) : version)
    maps.push((await map.flush()) as CID)
  }
  const datasets: CID[] = []
  const zarrMap = await HAMT.create<Uint8Array>({ store, valuesAreBytes: true })
  const zarr = new ZarrHAMTStore(zarrMap)
  await zarr.set('/zarr.json', json({ zarr_format: 3, node_type: 'group', attributes: {} }))
  for (let version = 0; version < 3; version++) {
    const steps = (version + 1) * 4
    for (let t = version * 4; t < steps; t++) {
      await zarr.set(
        `/temp/c/${t}/0`,
        Uint8Array.from({ length: 64 }, (_, i) => (t * 31 + i) & 255),
      )
    }
    await zarr.set('/temp/zarr.json', json(arrayMetadata(steps)))
    datasets.push((await zarrMap.flush()) as CID)
  }
  // A flush's saves are held for collections until a macrotask after it (`SaveHolds`): past that.
  await new Promise((resolve) => setImmediate(resolve))
  return { maps, datasets }
}

function arrayMetadata(steps: number): unknown {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: [steps, 16],
    data_type: 'float32',
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [1, 16] } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    dimension_names: ['time', 'x'],
  }
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** Hex multihashes of every block the roots reach (read through `source`, which verifies them). */
export async function reachable(source: BlockSource, roots: readonly CID[]): Promise<Set<string>> {
  const found = new Set<string>()
  for (const root of roots) {
    for await (const { cid } of walkDag(source, root, { concurrency: 8 }))
      found.add(toHex(cid.multihash.bytes))
  }
  return found
}

/** Hex multihashes of the block files in a DiskStore directory, each read and checked against its name. */
export async function blockFiles(directory: string): Promise<Set<string>> {
  const found = new Set<string>()
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.data')) continue
    const multihash = Digest.decode(base32upper.decode(entry.name.slice(0, -'.data'.length)))
    await verifyBlock(
      CID.createV1(0x55, multihash),
      await readFile(join(entry.parentPath, entry.name)),
      entry.name,
    )
    found.add(toHex(multihash.bytes))
  }
  return found
}
