export { type NodeHttpFetchOptions, nodeHttpFetch } from './http-fetch.js'
export { type NodeZstdOptions, nodeZstdDecoder } from './zstd.js'
