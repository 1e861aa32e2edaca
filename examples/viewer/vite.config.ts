import { defineConfig } from 'vite'

export default defineConfig({
  // Relative asset URLs, so the built viewer works from any path (a static host, or IPFS itself).
  base: './',
  // zarrita loads its codecs (zstd, blosc: WebAssembly inlined) only when a dataset needs them.
  build: { chunkSizeWarningLimit: 1024 },
  server: { host: '127.0.0.1' },
})
