/**
 * Whether calling `store[name]` runs `own`, the method a store class marks as its own (taken from its
 * prototype once, when its module loads): a subclass's override, a patched instance or prototype, or a
 * Proxy whose trap wraps or binds the method does not. The one test
 * behind the stores' internal capabilities (copy at save, read without a promise, tentative puts), which hold for the
 * class's own code only.
 */
export function callsOwnMethod(
  store: object,
  name: 'save' | 'load' | 'putBlock' | 'hasBlock',
  own: unknown,
): boolean {
  return typeof own === 'function' && (store as Record<string, unknown>)[name] === own
}
