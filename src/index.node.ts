// `ts-hamt` in Node (the exports map's `node` condition): the package root's API, with Node's faster
// defaults for the stores that read over HTTP and verify blocks. Its declarations are index.ts's.
import { setDefaultFetch } from './cas/http.js'
import { type Blake3Digest, blake3InThisThread, setDefaultBlake3Digest } from './cas/verify.js'
import { nodeHttpFetch } from './node/http-fetch.js'
import { nativeBlake3Digest } from './node/native-blake3.js'

export * from './index.js'

/**
 * True when proxy variables are set, which Node's fetch can follow (NODE_USE_ENV_PROXY) and our
 * node:http client does not: the global fetch is kept then. (A dispatcher set with undici's
 * `setGlobalDispatcher` cannot be told from Node's own; such users pass `fetch: globalThis.fetch`.)
 */
function proxyConfigured(): boolean {
  return ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].some(
    (name) => (process.env[name] ?? '') !== '',
  )
}

let fetch: typeof globalThis.fetch | undefined
// One node:http client for every store given no fetch (its keep-alive connections are shared),
// unless a proxy is configured.
setDefaultFetch(() => {
  if (proxyConfigured()) return globalThis.fetch.bind(globalThis)
  fetch ??= nodeHttpFetch()
  return fetch
})

let digest: Blake3Digest | undefined
// Native BLAKE3 where @napi-rs/blake-hash is installed, looked up on the first block verified.
setDefaultBlake3Digest((bytes) => {
  digest ??= nativeBlake3Digest() ?? blake3InThisThread
  return digest(bytes)
})
