// `ts-hamt/blocks`: building blocks for working with blocks and IDs yourself (IDs and hex, byte
// ranges, the links of a block, BLAKE3, garbage collection of a store). The maps and stores do not
// need them; the root has those.
export { collectGarbage, type GcOptions, type GcProgress, type GcResult } from './car/gc.js'
export { linksOf } from './car/walk.js'
export { bytesToHex, formatId, hexToBytes, isStoreId } from './cas/id.js'
export { resolveByteRange } from './cas/range.js'
export { blake3, blake3Hasher, blake3Multihash, loadBlake3 } from './hash/blake3.js'
