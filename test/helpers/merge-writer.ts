// A writer process of the multi-process merge test: opens the base root on a Kubo, writes its rows
// of chunks, prints its root. Usage: node --import tsx merge-writer.ts RPC_URL GATEWAY_URL BASE ROWS_JSON
import { KuboStore } from '../../src/index.js'
import { writeRows } from './merge-zarr.js'

const [rpcUrl, gatewayUrl, base, rows] = process.argv.slice(2) as [string, string, string, string]
const store = new KuboStore({ rpcUrl, gateways: gatewayUrl })
const root = await writeRows(store, base, JSON.parse(rows) as number[])
process.stdout.write(`${JSON.stringify({ pid: process.pid, root: root.toString() })}\n`)
