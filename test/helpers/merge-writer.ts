// A writer process of the multi-process merge test: opens the base root on a Kubo, writes its rows
// of chunks, prints its root.
// Usage: node --import tsx merge-writer.ts RPC_URL GATEWAY_URL BASE ROWS_JSON hamt|sharded_zarr_v1|sharded_zarr_v2
import { KuboStore, type ManifestVersion } from '../../src/index.js'
import { writeRows, writeShardedRows } from './merge-zarr.js'

const [rpcUrl, gatewayUrl, base, rowsJson, layout] = process.argv.slice(2) as string[]
const store = new KuboStore({ rpcUrl: rpcUrl as string, gateways: gatewayUrl as string })
const rows = JSON.parse(rowsJson as string) as number[]
const root =
  layout === 'hamt'
    ? await writeRows(store, base as string, rows)
    : await writeShardedRows(store, base as string, rows, layout as ManifestVersion)
process.stdout.write(`${JSON.stringify({ pid: process.pid, root: root.toString() })}\n`)
