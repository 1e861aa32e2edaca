// `ts-hamt` in Node (the exports map's `node` condition): the package root's API, with Node's faster
// defaults for the stores that read over HTTP and verify blocks. Its declarations are index.ts's.
import { useNodeDefaults } from './node/defaults.js'

export * from './index.js'

useNodeDefaults()
