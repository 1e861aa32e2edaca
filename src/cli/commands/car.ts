import { exportCarFile, importCarFile } from '../../car/files.js'
import { InvalidArgumentError } from '../../errors.js'
import { asSink, parseRoot } from '../context.js'
import type { Command } from './command.js'

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the map at ROOT (every node and value) to a CAR file',
  usage: 'export ROOT FILE.car',
  help: 'The CAR has ROOT as its root; `ipfs dag import FILE.car` loads it into Kubo.',
  async run(context, [root, file]) {
    const cid = parseRoot(root)
    if (file === undefined) throw new InvalidArgumentError('FILE is missing: where to write the CAR')
    const progress = context.output.progress('exported')
    let total = { blocks: 0, bytes: 0 }
    await exportCarFile(await context.store(), cid, file, {
      onProgress: (p) => {
        total = p
        progress.update(p.blocks, undefined, `blocks, ${(p.bytes / 1e6).toFixed(1)} MB`)
      },
    })
    progress.done()
    context.output.result(
      { root: String(cid), file, ...total },
      () => `exported ${total.blocks} blocks (${total.bytes} bytes) to ${file}`,
    )
  },
}

export const importCommand: Command = {
  name: 'import',
  writes: true,
  summary: 'add every block of a CAR file to the store; print its roots',
  usage: 'import FILE.car',
  async run(context, [file]) {
    if (file === undefined) throw new InvalidArgumentError('FILE is missing: the CAR to import')
    const sink = asSink(await context.store(), context.storeName)
    const progress = context.output.progress('imported')
    const { roots, blocks } = await importCarFile(sink, file, {
      onProgress: (p) => progress.update(p.blocks, undefined, `blocks, ${(p.bytes / 1e6).toFixed(1)} MB`),
    })
    progress.done()
    context.output.result({ roots: roots.map(String), blocks }, () =>
      [`imported ${blocks} blocks`, ...roots.map((root) => `root ${root}`)].join('\n'),
    )
  },
}
