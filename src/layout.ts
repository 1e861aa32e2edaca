// `ts-hamt/layout`: how a Zarr dataset lies in a root (the HAMT key of a Zarr key, which layout a
// root block has) and the move from one layout to the other. Opening a root is in the package root.
export type { ZarrLayout } from './dataset/open.js'
export { zarrLayoutOf } from './dataset/open.js'
export { type ConvertOptions, convertHamtToSharded } from './sharded/converter.js'
export type { ConversionProgress } from './sharded/interface.js'
export { hamtKey } from './zarr/keys.js'
