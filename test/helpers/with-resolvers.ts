// Helia and libp2p 3 call Promise.withResolvers (Node 22+); the suite also runs on Node 20, so a test
// that starts them imports this first. Side effect only: defines it where it is missing.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    value<T>() {
      let resolve!: (value: T) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}
