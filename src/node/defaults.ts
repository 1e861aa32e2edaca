// Node's defaults for stores given no `fetch` or `blake3Digest`: what `import 'ts-hamt'` gives in
// Node (src/index.node.ts) and what the CLI uses.
import { setDefaultFetch } from '../cas/http.js'
import { type Blake3Digest, blake3InThisThread, setDefaultBlake3Digest } from '../cas/verify.js'
import { nodeHttpFetch } from './http-fetch.js'
import { nativeBlake3Digest } from './native-blake3.js'

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
let digest: Blake3Digest | undefined

/**
 * Makes stores given no `fetch` share one node:http client (keep-alive connections), unless a proxy
 * is configured, and verify with native BLAKE3 where `@napi-rs/blake-hash` is installed (looked up
 * on the first block verified). Calling it again changes nothing.
 */
export function useNodeDefaults(): void {
  setDefaultFetch(() => {
    if (proxyConfigured()) return globalThis.fetch.bind(globalThis)
    fetch ??= nodeHttpFetch()
    return fetch
  })
  setDefaultBlake3Digest((bytes) => {
    digest ??= nativeBlake3Digest() ?? blake3InThisThread
    return digest(bytes)
  })
}
