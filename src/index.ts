// The package root: what a user reaches for (the map, the stores, the Zarr stores, CAR files, the
// errors) and the types their options need. Building blocks are in `ts-hamt/blocks`, Zarr layout
// tools in `ts-hamt/layout`, Node-only parts in `ts-hamt/node`.
export { exportCar } from './car/export.js'
export { importCar } from './car/import.js'
export type {
  BlockSink,
  BlockSource,
  CarProgress,
  CarSource,
  ExportCarOptions,
  ImportCarOptions,
} from './car/interface.js'
export {
  type BlockstoreLike,
  BlockstoreStore,
  type BlockstoreStoreOptions,
} from './cas/blockstore.js'
export { type HttpOptions, HttpStatusError } from './cas/http.js'
export type {
  AbortOptions,
  ByteRange,
  Codec,
  ContentAddressedStore,
  IpnsRecordMemory,
  LoadOptions,
  NameResolver,
  ResolvedName,
  ResolveNameOptions,
  StoreId,
} from './cas/interface.js'
export {
  KuboStore,
  type KuboStoreOptions,
  type PublishedName,
  type PublishNameOptions,
} from './cas/kubo.js'
export { MemoryStore } from './cas/memory.js'
export { TrustlessGatewayStore, type TrustlessGatewayStoreOptions } from './cas/trustless-gateway.js'
export type { Blake3Digest } from './cas/verify.js'
export { diffZarrRoots, type ZarrChange, type ZarrDiffOptions } from './dataset/diff.js'
export { mergeZarrRoots, type ZarrMergeOptions } from './dataset/merge.js'
export { openZarrRoot, type ZarrLayout } from './dataset/open.js'
export {
  type AnyHamtError,
  BlockNotFoundError,
  ChunkOutOfBoundsError,
  DecryptionError,
  type GatewayFailure,
  GatewaysFailedError,
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
  IpnsRecordError,
  type IpnsRecordProblem,
  isHamtError,
  KeyNotFoundError,
  LabelNotFoundError,
  type MergeConflict,
  MergeConflictError,
  OutOfMemoryError,
  RangeNotSatisfiableError,
  ReadOnlyError,
  StoreError,
  UnflushedChangesError,
} from './errors.js'
export { HAMT } from './hamt/hamt.js'
export type {
  CacheStats,
  ChangeKind,
  DiffOptions,
  GetOptions,
  HAMTNode,
  HAMTOptions,
  HashFn,
  MapChange,
  NodesOptions,
} from './hamt/interface.js'
export { MERGE_DELETE, type MergeOptions, type MergeResolver, type MergeSides } from './hamt/merge.js'
export type { CreateShardedOptions, ManifestVersion, ShardedStoreOptions } from './sharded/interface.js'
export type { ShardReadMode } from './sharded/read-mode.js'
export { type ShardedArrayInfo, ShardedZarrStore } from './sharded/store.js'
export { EncryptedZarrHAMTStore, type EncryptedZarrOptions } from './zarr/encrypted.js'
export type { AbsolutePath, RangeQuery, ZarrGetOptions, ZarrHAMTStoreOptions } from './zarr/interface.js'
export { ZarrHAMTStore } from './zarr/store.js'
