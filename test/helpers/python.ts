import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../..', import.meta.url))
let python: Promise<string> | undefined

/** The venv's python with the real py-hamt 3.6.0, installing it on first use (cached in .cache/pyenv). */
export function pyHamtPython(): Promise<string> {
  python ??= run('bash', [`${repo}/scripts/python-env.sh`], { maxBuffer: 1 << 20, timeout: 900_000 }).then(
    ({ stdout }) => stdout.trim().split('\n').at(-1) as string,
  )
  return python
}

/** Runs a command of test/interop/pyhamt_driver.py: JSON in, JSON out. */
export function pyHamtDriver<T>(
  command: 'build' | 'read' | 'kubo-build' | 'kubo-read' | 'cbor-roundtrip',
  request: unknown,
): Promise<T> {
  return runDriver<T>('pyhamt_driver.py', command, request)
}

/** Runs a command of test/interop/zarr_driver.py (py-hamt's Zarr stores with xarray): JSON in, JSON out. */
export function zarrDriver<T>(command: 'write' | 'read', request: unknown): Promise<T> {
  return runDriver<T>('zarr_driver.py', command, request)
}

/** Runs a command of test/interop/zarr_versions_driver.py (versions of one dataset, py-hamt + xarray): JSON in, JSON out. */
export function zarrVersionsDriver<T>(command: 'append', request: unknown): Promise<T> {
  return runDriver<T>('zarr_versions_driver.py', command, request)
}

/** A variable as zarr_driver.py's `write` reports it: flat C-order values, NaN as null. */
export type ZarrVariable = {
  shape: number[]
  dims: string[]
  values: Array<number | null>
  attrs: Record<string, unknown>
}

/** What zarr_driver.py's `write` answers: the dataset's root and every variable it wrote. */
export type ZarrWritten = { root: string; expected: Record<string, ZarrVariable> }

/** Runs a command of test/interop/dataset_driver.py (a labelled dataset by py-hamt on Kubo, selections by xarray): JSON in, JSON out. */
export function datasetDriver<T>(command: 'write' | 'select', request: unknown): Promise<T> {
  return runDriver<T>('dataset_driver.py', command, request)
}

/** Runs a command of test/interop/sharded_driver.py (py-hamt's ShardedZarrStore with xarray, on Kubo): JSON in, JSON out. */
export function shardedDriver<T>(
  command: 'write' | 'read' | 'convert' | 'ops' | 'replay' | 'history' | 'route' | 'json' | 'get' | 'modes',
  request: unknown,
): Promise<T> {
  return runDriver<T>('sharded_driver.py', command, request)
}

/** Runs a command of test/interop/cftime_driver.py (cftime's num2date/date2num, pandas.Timedelta): JSON in, JSON out. */
export function cftimeDriver<T>(
  command: 'num2date' | 'date2num' | 'timedelta',
  request: unknown,
): Promise<T> {
  return runDriver<T>('cftime_driver.py', command, request)
}

/** Runs a command of test/interop/cf_driver.py (xarray writes Zarr v3 and decodes it): JSON in, JSON out. */
export function cfDriver<T>(command: 'write', request: unknown): Promise<T> {
  return runDriver<T>('cf_driver.py', command, request)
}

/** Runs a command of test/interop/attackds11_driver.py (random CF datasets by xarray through py-hamt, xarray's selections): JSON in, JSON out. */
export function attackDatasetDriver<T>(
  command: 'write' | 'halves' | 'halfsel' | 'isel',
  request: unknown,
): Promise<T> {
  return runDriver<T>('attackds11_driver.py', command, request)
}

async function runDriver<T>(script: string, command: string, request: unknown): Promise<T> {
  const exe = await pyHamtPython()
  const child = execFile(exe, ['-W', 'ignore', `${repo}/test/interop/${script}`, command], {
    maxBuffer: 1 << 30,
    timeout: 600_000,
  })
  const output = new Promise<T>((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as T)
      else reject(new Error(`${script} ${command} exited ${code}: ${stderr.trim()}`))
    })
  })
  child.stdin?.end(JSON.stringify(request))
  return output
}

/** Runs a command of test/interop/revds11_driver.py (xarray's label slices, or labels with a method, of a decoded CF time coordinate): JSON in, JSON out. */
export function timeSliceDriver<T>(command: 'slices', request: unknown): Promise<T> {
  return runDriver<T>('revds11_driver.py', command, request)
}

/** Runs a command of test/interop/coordfill11_driver.py (a coordinate with fill values by zarr-python, decoded by xarray): JSON in, JSON out. */
export function coordFillDriver<T>(command: 'cases', request: unknown): Promise<T> {
  return runDriver<T>('coordfill11_driver.py', command, request)
}

/** Runs a command of test/interop/attackw12_driver.py (random zarr-python histories on py-hamt's ShardedZarrStore, logged): JSON in, JSON out. */
export function attackWriteDriver<T>(
  command: 'history' | 'read' | 'seal' | 'open' | 'encrypted-write' | 'encrypted-read' | 'writers',
  request: unknown,
): Promise<T> {
  return runDriver<T>('attackw12_driver.py', command, request)
}
