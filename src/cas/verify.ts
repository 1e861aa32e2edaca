import { equals } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { IntegrityError, StoreError } from '../errors.js'
import { BLAKE3_CODE, blake3, loadBlake3 } from '../hash/blake3.js'
import { noteVerifyFailure } from '../telemetry/hooks.js'

/** The only digest length that verifies for each fixed-length hash: a shorter one would match too many blocks. */
const DIGEST_LENGTHS = new Map([
  [BLAKE3_CODE, 32],
  [sha256.code, 32],
])

/**
 * Computes the BLAKE3-256 digest of a block being verified. The default hashes in the calling thread;
 * `nodeWorkers().blake3Digest` of `ts-hamt/node` hashes large blocks on worker threads.
 */
export type Blake3Digest = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>

/** hash-wasm's BLAKE3 in the calling thread: the default everywhere but in Node (see src/index.node.ts). */
export async function blake3InThisThread(bytes: Uint8Array): Promise<Uint8Array> {
  await loadBlake3()
  return blake3(bytes)
}

let defaultBlake3Digest: Blake3Digest = blake3InThisThread

/** Sets how blocks are hashed when a store is given no `blake3Digest`: for the runtime's entry point only. */
export function setDefaultBlake3Digest(digest: Blake3Digest): void {
  defaultBlake3Digest = digest
}

/** True when `verifyBlock` can check blocks under this CID's hash function. */
export function canVerify(cid: CID): boolean {
  const code = cid.multihash.code
  return code === BLAKE3_CODE || code === sha256.code || code === identity.code
}

/**
 * Throws a StoreError for a CID whose hash we cannot recompute: such a block can be neither checked
 * nor called corrupt (not an {@link IntegrityError}). A supported hash with a digest of the wrong
 * length (a truncated BLAKE3, say) is an IntegrityError: no block can be proven to be it.
 */
export function checkVerifiable(cid: CID): void {
  if (!canVerify(cid)) {
    throw new StoreError(
      `cannot verify ${cid}: hash 0x${cid.multihash.code.toString(16)} is not supported (BLAKE3, SHA-256 are; pass verify: false to read it)`,
    )
  }
  checkDigestLength(cid)
}

function checkDigestLength(cid: CID): void {
  const expected = DIGEST_LENGTHS.get(cid.multihash.code)
  if (expected !== undefined && cid.multihash.size !== expected) {
    throw new IntegrityError(
      `${cid} has a ${cid.multihash.size}-byte digest where its hash has ${expected}: no block can be verified against it`,
    )
  }
}

/**
 * Throws an {@link IntegrityError} unless `bytes` hash to `cid`'s multihash. Run on every block read
 * from the network before it is decoded or returned: a gateway is not trusted to serve the right bytes.
 */
export async function verifyBlock(
  cid: CID,
  bytes: Uint8Array,
  source: string,
  blake3Digest: Blake3Digest = defaultBlake3Digest,
): Promise<void> {
  const expected = cid.multihash
  let digest: Uint8Array
  if (expected.code === BLAKE3_CODE || expected.code === sha256.code) checkDigestLength(cid)
  if (expected.code === BLAKE3_CODE) {
    digest = await blake3Digest(bytes)
  } else if (expected.code === sha256.code) {
    digest = (await sha256.digest(bytes)).digest
  } else if (expected.code === identity.code) {
    digest = bytes
  } else {
    throw new IntegrityError(
      `cannot verify ${cid}: unsupported multihash code 0x${expected.code.toString(16)}`,
    )
  }
  if (!equals(digest, expected.digest)) {
    noteVerifyFailure(cid, source)
    throw new IntegrityError(
      `block ${cid} from ${source} does not match its CID (${bytes.length} bytes received)`,
    )
  }
}
