import { formatId } from '../cas/id.js'
import type { ContentAddressedStore } from '../cas/interface.js'
import { callStore } from '../hamt/loader.js'
import { traceLoad } from '../telemetry/hooks.js'

/**
 * `store` with its failures typed as the HAMT's are: an error of the store's own kind becomes a
 * StoreError naming the call and keeping the cause; ours (BlockNotFoundError, …) and aborts pass.
 */
export function withTypedErrors(store: ContentAddressedStore): ContentAddressedStore {
  const typed: ContentAddressedStore = {
    load: (id, options) =>
      callStore(
        () => `loading ${formatId(id)}`,
        () => traceLoad(store, id, options),
        options?.signal,
      ),
    save: (data, codec, options) =>
      callStore(
        () => `saving a ${codec} block`,
        () => store.save(data, codec, options),
        options?.signal,
      ),
  }
  const flush = store.flush
  if (typeof flush === 'function') {
    typed.flush = (options) =>
      callStore(
        () => 'writing buffered blocks to the store',
        () => flush.call(store, options),
        options?.signal,
      )
  }
  return typed
}
