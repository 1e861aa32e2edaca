export { type NodeHttpFetchOptions, nodeHttpFetch } from './http-fetch.js'
export { type ZstdWorkerOptions, zstdWorkerDecoder } from './zstd-workers.js'
