/** The store methods whose identity a capability checks. */
export type OwnMethodName = 'save' | 'load' | 'putBlock' | 'hasBlock'

/**
 * Whether calling `store[name]` runs `own`, the method a store class marks as its own (taken from its
 * prototype once, when its module loads: {@link ownMethods}): a subclass's override, a patched instance
 * or prototype, or a Proxy whose trap wraps or binds the method does not. The one test
 * behind the stores' internal capabilities (copy at save, read without a promise, tentative puts), which hold for the
 * class's own code only.
 */
export function callsOwnMethod(store: object, name: OwnMethodName, own: unknown): boolean {
  return typeof own === 'function' && (store as Record<string, unknown>)[name] === own
}

/**
 * A store class's methods `names` as defined, taken from `prototype` when its module loads, not as
 * found there later: a method patched afterwards (a test's spy, an injected failure) is a replaced one.
 */
export function ownMethods<P extends object, N extends OwnMethodName & keyof P>(
  prototype: P,
  ...names: N[]
): Readonly<Record<N, unknown>> {
  const own = {} as Record<N, unknown>
  for (const name of names) own[name] = prototype[name]
  return Object.freeze(own)
}
