import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { exportCar } from '../../car/export.js'
import { exportCarFile, importCarFile } from '../../car/files.js'
import { importCar } from '../../car/import.js'
import { InvalidValueError, isHamtError } from '../../errors.js'
import { partialPath, wholeFileTarget } from '../../util/partial-files.js'
import { asSink, rootOf, UsageError } from '../context.js'
import { isStdout, outputPath, STDOUT } from '../partial.js'
import type { Command } from './command.js'

/** `import -`: the CAR comes on stdin. */
const STDIN = '-'

/** A CAR from stdin refused: its message names stdin, where the import's says "the CAR file". */
function onStdin(error: unknown): never {
  if (!isHamtError(error, 'ERR_INVALID_VALUE')) throw error
  const named = error.message.replaceAll('the CAR file', 'the CAR on stdin')
  throw new InvalidValueError(named === error.message ? `the CAR on stdin: ${named}` : named, {
    cause: error,
  })
}

export const exportCommand: Command = {
  name: 'export',
  maxArgs: 2,
  stopsOnAbort: true,
  summary: 'write the map at ROOT (every node and value) to a CAR file',
  usage: 'export ROOT FILE.car|- [--base OLD]',
  help: `The CAR has ROOT as its root; \`ipfs dag import FILE.car\` loads it into Kubo. With --base OLD, only
the blocks ROOT reaches and OLD does not: what a holder of OLD needs to have ROOT. FILE - is stdout.`,
  flags: { base: { type: 'string' } },
  async run(context, [root, given], flags) {
    const file = given === undefined ? undefined : outputPath(given, 'FILE')
    const cid = await rootOf(context, root)
    const base = typeof flags.base === 'string' ? await rootOf(context, flags.base, '--base') : undefined
    if (file === undefined) throw new UsageError('FILE is missing: where to write the CAR')
    const store = await context.store()
    // exportCarFile removes its stale and failed partial files (a device has none); this covers a forced exit.
    const toStdout = isStdout(file)
    const target = file === STDOUT ? { inPlace: true, path: file } : await wholeFileTarget(file)
    const forget = target.inPlace ? () => {} : context.removeOnStop(partialPath(target.path))
    const progress = context.output.progress('exported')
    let total = { blocks: 0, bytes: 0 }
    const options = {
      signal: context.signal,
      ...(base === undefined ? {} : { base }),
      onProgress: (p: typeof total) => {
        total = p
        progress.update(p.blocks, undefined, `blocks, ${(p.bytes / 1e6).toFixed(1)} MB`)
      },
    }
    if (file === STDOUT) {
      // stdout stays open for the summary and the error report (end: false).
      await pipeline(Readable.from(exportCar(store, cid, options)), process.stdout, { end: false })
    } else await exportCarFile(store, cid, file, options)
    forget()
    progress.done()
    context.output.result(
      { root: String(cid), ...(base === undefined ? {} : { base: String(base) }), file, ...total },
      () => `exported ${total.blocks} blocks (${total.bytes} bytes) to ${file}`,
      { stderr: toStdout },
    )
  },
}

export const importCommand: Command = {
  name: 'import',
  maxArgs: 1,
  writes: true,
  stopsOnAbort: true,
  summary: 'add every block of a CAR file to the store; print its roots',
  usage: 'import FILE.car|-',
  help: `FILE - reads the CAR from stdin (\`ipfs dag export ROOT | ts-hamt import -\`), once as it comes: a file
is checked whole before its first block is stored, stdin cannot be.`,
  async run(context, [file]) {
    if (file === undefined) throw new UsageError('FILE is missing: the CAR to import')
    if (file === STDIN && process.stdin.isTTY === true) {
      throw new UsageError('import - reads the CAR from stdin, which is a terminal: pipe the CAR into it')
    }
    const sink = asSink(await context.store(), context.storeName)
    const progress = context.output.progress('imported')
    const options = {
      signal: context.signal,
      onProgress: (p: { blocks: number; bytes: number }) =>
        progress.update(p.blocks, undefined, `blocks, ${(p.bytes / 1e6).toFixed(1)} MB`),
    }
    const { roots, blocks } =
      file === STDIN
        ? await importCar(sink, process.stdin, options).catch(onStdin)
        : await importCarFile(sink, file, options)
    progress.done()
    context.output.result({ roots: roots.map(String), blocks }, () =>
      [`imported ${blocks} blocks`, ...roots.map((root) => `root ${root}`)].join('\n'),
    )
  },
}
