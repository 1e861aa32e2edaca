export { exportCar } from './car/export.js'
export { importCar } from './car/import.js'
export type {
  BlockSink,
  BlockSource,
  CarProgress,
  ExportCarOptions,
  ImportCarOptions,
} from './car/interface.js'
export { linksOf } from './car/walk.js'
export {
  type BlockstoreLike,
  BlockstoreStore,
  type BlockstoreStoreOptions,
} from './cas/blockstore.js'
export { GatewayReader, normalizeGatewayUrl } from './cas/gateway.js'
export { type HttpOptions, HttpStatusError } from './cas/http.js'
export { bytesToHex, formatId, hexToBytes, isStoreId } from './cas/id.js'
export type {
  AbortOptions,
  ByteRange,
  Codec,
  ContentAddressedStore,
  LoadOptions,
  StoreId,
} from './cas/interface.js'
export { KuboStore, type KuboStoreOptions } from './cas/kubo.js'
export { MemoryStore } from './cas/memory.js'
export { resolveByteRange } from './cas/range.js'
export { TrustlessGatewayStore, type TrustlessGatewayStoreOptions } from './cas/trustless-gateway.js'
export type { Blake3Digest } from './cas/verify.js'
export { openZarrRoot, type ZarrLayout, zarrLayoutOf } from './dataset/open.js'
export {
  type AnyHamtError,
  BlockNotFoundError,
  ChunkOutOfBoundsError,
  DecryptionError,
  HamtError,
  type HamtErrorCode,
  type HamtErrorOf,
  HashExhaustedError,
  IntegrityError,
  InvalidArgumentError,
  InvalidHashError,
  InvalidManifestError,
  InvalidNodeError,
  InvalidValueError,
  isHamtError,
  KeyNotFoundError,
  RangeNotSatisfiableError,
  ReadOnlyError,
  StoreError,
  UnflushedChangesError,
} from './errors.js'
export { HAMT } from './hamt/hamt.js'
export type {
  CacheStats,
  GetOptions,
  HamtNode,
  HamtOptions,
  HashFn,
  NodesOptions,
} from './hamt/interface.js'
export { blake3, blake3Hasher, blake3Multihash, loadBlake3 } from './hash/blake3.js'
export { type ConvertOptions, convertHamtToSharded } from './sharded/converter.js'
export type {
  ConversionProgress,
  CreateShardedOptions,
  ManifestVersion,
  ShardedStoreOptions,
} from './sharded/interface.js'
export { type ShardedArrayInfo, ShardedZarrStore } from './sharded/store.js'
export { EncryptedZarrHAMTStore, type EncryptedZarrOptions } from './zarr/encrypted.js'
export type { AbsolutePath, RangeQuery, ZarrGetOptions, ZarrHamtStoreOptions } from './zarr/interface.js'
export { hamtKey } from './zarr/keys.js'
export { ZarrHAMTStore } from './zarr/store.js'
