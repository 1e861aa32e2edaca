export { type NodeHttpFetchOptions, nodeHttpFetch } from './http-fetch.js'
export { type NodeWorkers, type NodeWorkersOptions, nodeWorkers } from './workers.js'
