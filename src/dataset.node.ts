// `ts-hamt/dataset` in Node (the exports map's `node` condition): the same API, with Node's defaults
// for the stores `openDataset` makes (node:http keep-alive fetch for `gateways`, native BLAKE3 where
// installed), as `import 'ts-hamt'` gives them. Its declarations are dataset.ts's.
import { useNodeDefaults } from './node/defaults.js'

export * from './dataset.js'

useNodeDefaults()
