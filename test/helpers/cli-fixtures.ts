// Fixtures of the CLI tests: a Zarr dataset encrypted as py-hamt encrypts one (for `zarr --key-hex`
// and `--key-file`), and runs of the built binary on a real pseudo-terminal and with bytes on its stdin.
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import * as zarr from 'zarrita'
import { EncryptedZarrHAMTStore, HAMT } from '../../src/index.js'
import { DiskStore } from '../../src/node/index.js'
import { type CliRun, cliBinary } from './cli.js'

/**
 * A dataset in the disk store at `directory`, encrypted with a random 32-byte key and `header`: a
 * root group and a float32 array `temp` of 4 values (in chunks of 2), each `fill`. BLAKE3 loaded first.
 */
export async function encryptedDataset(
  directory: string,
  random: () => number,
  header: string,
  fill: number,
): Promise<{ root: string; key: Uint8Array; keyHex: string }> {
  const key = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256))
  const map = await HAMT.create<Uint8Array>({ store: await DiskStore.open(directory), valuesAreBytes: true })
  const encrypted = new EncryptedZarrHAMTStore(map, { key, header: new TextEncoder().encode(header) })
  await zarr.create(zarr.root(encrypted), { attributes: {} })
  const temp = await zarr.create(zarr.root(encrypted).resolve('temp'), {
    shape: [4],
    chunkShape: [2],
    dtype: 'float32',
    dimensionNames: ['x'],
  })
  await zarr.set(temp, null, fill)
  return { root: String(await map.flush()), key, keyHex: Buffer.from(key).toString('hex') }
}

/** Runs the CLI in `cwd` with its stdout and stderr on a real pseudo-terminal (util-linux `script`). */
export async function onTerminal(cwd: string, args: string[]): Promise<string> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    TS_HAMT_STORE: '',
    NODE: process.execPath,
    CLI: cliBinary,
  }
  // Arguments through the environment: the shell line `script` runs quotes none of them itself.
  for (const [index, arg] of args.entries()) env[`A${index}`] = arg
  const argv = args.map((_, index) => `"$A${index}"`).join(' ')
  const run = promisify(execFile)('script', ['-qec', `"$NODE" "$CLI" ${argv}`, '/dev/null'], { cwd, env })
  // script exits with the command's code (-e): a failed command's output is on the error.
  const { stdout } = await run.catch((error: { stdout: string }) => error)
  return stdout.replaceAll('\r\n', '\n') // the terminal's own line endings
}

/** Runs the CLI in `cwd` with `input` on its stdin (a pipe). */
export function withStdin(cwd: string, args: string[], input: Uint8Array): Promise<CliRun> {
  const child = spawn(process.execPath, [cliBinary, ...args], {
    cwd,
    env: { ...process.env, TS_HAMT_STORE: '' },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  child.stdin.end(input)
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })))
}
