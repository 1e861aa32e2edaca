export { exportCarFile, importCarFile } from '../car/files.js'
export { DiskStore, type DiskStoreOptions } from '../cas/disk.js'
export { type NodeHttpFetchOptions, nodeHttpFetch } from './http-fetch.js'
export { type NodeWorkers, type NodeWorkersOptions, nodeWorkers } from './workers.js'
