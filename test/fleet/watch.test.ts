import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { watchWorkspace, type WorkspaceChanges } from '../../src/fleet/watch.js'

// The dev watcher on a real folder tree, one save style at a time. Each save is followed by an in-place
// write to the files server, which every watcher sees: the batches up to the one naming `files` hold all the
// save's events (a folder's events arrive in order), so a save that is missed fails here instead of
// passing on a later save's batch, and no test waits for a quiet period.

describe('the dev watcher sees every way of saving', () => {
  let root = ''
  let stop = async () => {}
  const batches: WorkspaceChanges[] = []
  const errors: Error[] = []
  const src = () => join(root, 'servers/search/src')
  const search = () => join(src(), 'index.ts')

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'airmcp-watch-'))
    for (const dir of ['servers/search/src', 'servers/files/src', 'gateway/src', 'node_modules/x']) mkdirSync(join(root, dir), { recursive: true })
    for (const file of ['servers/search/src/index.ts', 'servers/files/src/index.ts', 'gateway/src/index.ts']) writeFileSync(join(root, file), 'v0')
    stop = await watchWorkspace(
      root,
      (changes) => batches.push(changes),
      (error) => errors.push(error),
    )
  })
  afterAll(async () => {
    await stop()
    rmSync(root, { recursive: true, force: true })
  })

  /** Runs `save`, then the files server's sentinel write; resolves with what the batches up to it changed. */
  async function changedBy(save: () => void): Promise<{ servers: string[]; gateway: boolean }> {
    batches.length = 0
    save()
    writeFileSync(join(root, 'servers/files/src/index.ts'), `sentinel ${Date.now()}`)
    await expect.poll(() => batches.some((batch) => batch.servers.has('files')), { timeout: 20_000 }).toBe(true)
    const servers = new Set(batches.flatMap((batch) => [...batch.servers]))
    servers.delete('files')
    return { servers: [...servers].sort(), gateway: batches.some((batch) => batch.gateway) }
  }

  /** JetBrains' safe write: a temp file (ignored) renamed over the source. */
  const renameSave = (file: string, text: string) => {
    writeFileSync(`${file}___jb_tmp___`, text)
    renameSync(`${file}___jb_tmp___`, file)
  }

  const searchOnly = { servers: ['search'], gateway: false }

  it('in place, by sed -i, and by delete and create', async () => {
    expect(await changedBy(() => writeFileSync(search(), 'in place'))).toEqual(searchOnly)
    expect(await changedBy(() => execFileSync('sed', ['-i', 's/in place/sed/', search()]))).toEqual(searchOnly)
    expect(
      await changedBy(() => {
        unlinkSync(search())
        writeFileSync(search(), 'created again')
      }),
    ).toEqual(searchOnly)
  })

  it('its src/ folder deleted and created again, then every save into the new folder', async () => {
    const recreate = () => {
      rmSync(src(), { recursive: true })
      mkdirSync(src())
      writeFileSync(search(), 'folder created again')
    }
    expect(await changedBy(recreate)).toEqual(searchOnly)
    expect(await changedBy(() => renameSave(search(), 'renamed over, in the new folder'))).toEqual(searchOnly)
    expect(await changedBy(() => writeFileSync(search(), 'in place, in the new folder'))).toEqual(searchOnly)
    expect(await changedBy(() => writeFileSync(join(src(), 'tools.ts'), 'a new file in the new folder'))).toEqual(searchOnly)
    // Twice in a row, with no save between: the second folder is watched too.
    expect(await changedBy(recreate)).toEqual(searchOnly)
    expect(await changedBy(() => renameSave(search(), 'renamed over, in the third folder'))).toEqual(searchOnly)
  })

  it('a folder inside src/ made, edited, deleted and made again', async () => {
    const lib = () => join(src(), 'lib')
    expect(
      await changedBy(() => {
        mkdirSync(lib())
        writeFileSync(join(lib(), 'deep.ts'), 'new')
      }),
    ).toEqual(searchOnly)
    expect(await changedBy(() => renameSave(join(lib(), 'deep.ts'), 'renamed over'))).toEqual(searchOnly)
    expect(
      await changedBy(() => {
        rmSync(lib(), { recursive: true })
        mkdirSync(lib())
        writeFileSync(join(lib(), 'deep.ts'), 'made again')
      }),
    ).toEqual(searchOnly)
    expect(await changedBy(() => writeFileSync(join(lib(), 'deep.ts'), 'edited in the new folder'))).toEqual(searchOnly)
  })

  it("vim's save: the write probe 4913, the source moved to a backup, written anew, the backup removed", async () => {
    const vimSave = () => {
      writeFileSync(join(src(), '4913'), '')
      unlinkSync(join(src(), '4913'))
      renameSync(search(), `${search()}~`)
      writeFileSync(search(), 'vim')
      unlinkSync(`${search()}~`)
    }
    expect(await changedBy(vimSave)).toEqual(searchOnly)
  })

  it("editors' swap, backup and temp files, dist/ and node_modules/ change nothing", async () => {
    const noise = () => {
      for (const file of ['servers/search/src/.index.ts.swp', 'servers/search/src/index.ts~', 'gateway/src/.#index.ts', 'gateway/src/index.ts.tmp']) {
        writeFileSync(join(root, file), 'not source')
      }
      mkdirSync(join(root, 'servers/search/dist'), { recursive: true })
      writeFileSync(join(root, 'servers/search/dist/index.js'), 'built')
      writeFileSync(join(root, 'node_modules/x/index.js'), 'installed')
    }
    expect(await changedBy(noise)).toEqual({ servers: [], gateway: false })
  })

  it('a new server folder, then an edit in it; the whole servers/ folder deleted and created again', async () => {
    const notes = join(root, 'servers/notes/src/index.ts')
    const addNotes = () => {
      mkdirSync(join(root, 'servers/notes/src'), { recursive: true })
      writeFileSync(notes, 'new server')
    }
    expect(await changedBy(addNotes)).toEqual({ servers: ['notes'], gateway: false })
    expect(await changedBy(() => renameSave(notes, 'edited'))).toEqual({ servers: ['notes'], gateway: false })
    expect(
      await changedBy(() => {
        rmSync(join(root, 'servers'), { recursive: true })
        for (const server of ['search', 'files']) {
          mkdirSync(join(root, 'servers', server, 'src'), { recursive: true })
          writeFileSync(join(root, 'servers', server, 'src/index.ts'), 'created again')
        }
        addNotes()
      }),
    ).toEqual({ servers: ['notes', 'search'], gateway: false })
    expect(await changedBy(() => renameSave(notes, 'edited in the new folder'))).toEqual({ servers: ['notes'], gateway: false })
    expect(await changedBy(() => writeFileSync(join(root, 'gateway/src/index.ts'), 'gateway'))).toEqual({ servers: [], gateway: true })
    expect(errors).toEqual([])
  })
})
