import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'
import { applyTree } from '../tree/apply.js'
import { findWorkspaceRoot } from '../workspace/root.js'
import type { LockChange } from '../gateway/lock/lock-file.js'
import { Tree } from '../tree/tree.js'

export interface LockResult {
  file: string
  status: 'created' | 'unchanged' | 'changed'
  written: boolean
  dryRun: boolean
  changes: LockChange[]
}

export default class Lock extends BaseCommand {
  static override summary = "Pin every server's tools, prompts and resource templates in airmcp.lock."
  static override description =
    'Starts each built server (SSE/HTTP ones on free ports, stdio ones spawned), lists what it offers with an ' +
    'MCP client and records, per item, a hash of its name, description, schemas and annotations with those ' +
    'fields. A gateway given the lock (lock option or AIRMCP_LOCK) holds back tools that differ from it. ' +
    'An existing lock that differs is only replaced with --update, after review.'
  static override examples = [
    '<%= config.bin %> lock                 # first time: write airmcp.lock',
    '<%= config.bin %> lock --check         # in CI: exit 1 naming each added, removed or changed item',
    '<%= config.bin %> lock --update        # after review: accept the changes',
    '<%= config.bin %> lock --update --dry-run --json',
  ]
  static override flags = {
    check: Flags.boolean({ description: 'Exit 1 when the servers differ from airmcp.lock (or it is missing); write nothing.' }),
    update: Flags.boolean({ description: 'Accept the differences: rewrite airmcp.lock.' }),
    'dry-run': Flags.boolean({ description: 'Show what would change (with the diff); write nothing.' }),
  }

  async run(): Promise<LockResult> {
    const { flags } = await this.parse(Lock)
    if (flags.check && flags.update) {
      throw new AirmcpError('BAD_FLAGS', '--check and --update contradict each other.', 'use --check in CI and --update after a review.')
    }
    const root = findWorkspaceRoot()
    const tree = new Tree(root)
    const { readWorkspace } = await import('../workspace/index.js')
    const { servers } = await readWorkspace(tree)
    for (const server of servers) {
      if (!existsSync(join(root, server.dir, 'dist/index.js'))) {
        throw new AirmcpError('NOT_BUILT', `"${join(server.dir, 'dist/index.js')}" does not exist.`, 'build first: npm run build')
      }
    }
    const { inventoryServer } = await import('../lock/inventory.js')
    const { planLock, describeChanges, LOCK_FILE } = await import('../lock/plan.js')
    this.note(`Listing ${servers.length} server(s): ${servers.map((s) => s.name).join(', ') || 'none'}`)
    const inventories = Object.fromEntries(
      await Promise.all(
        servers.map(async (server) => {
          try {
            return [server.name, await inventoryServer({ name: server.name, dir: join(root, server.dir), transport: server.transport.type })] as const
          } catch (error) {
            throw new AirmcpError('SERVER_FAILED', (error as Error).message, `run the server on its own (node ${server.dir}/dist/index.js) and fix what it prints.`)
          }
        }),
      ),
    )
    const missing = !tree.exists(LOCK_FILE)
    if (flags.check && missing) {
      throw new AirmcpError('NO_LOCK', `"${LOCK_FILE}" does not exist in ${root}.`, 'run `airmcp lock` and commit airmcp.lock.')
    }
    const plan = planLock(tree, { inventories, update: flags.update })
    for (const line of describeChanges(plan.status === 'created' ? [] : plan.changes)) this.note(line)
    const dryRun = flags['dry-run'] || flags.check
    const applied = applyTree(tree, { dryRun, print: (line) => this.note(line) })
    const result: LockResult = { file: join(root, LOCK_FILE), status: plan.status, written: plan.written && !dryRun, dryRun, changes: plan.changes }
    if (plan.status === 'unchanged') this.note(`${LOCK_FILE} is up to date.`)
    else if (plan.status === 'created') this.note(`${dryRun ? 'Would write' : 'Wrote'} ${LOCK_FILE}: ${plan.changes.length} item(s).`)
    else if (result.written) this.note(`Accepted ${plan.changes.length} change(s) in ${LOCK_FILE}.`)
    else if (applied.changes.length === 0 && !flags.update) {
      // Changed and not accepted: a failure in CI (--check) and for a plain `airmcp lock` alike; the
      // result is still printed (with --json) before the exit code says so.
      this.logToStderr(
        `${plan.changes.length} item(s) differ from ${LOCK_FILE}. Try this: review the changes above, then run \`airmcp lock --update\`.`,
      )
      process.exitCode = 1
    }
    return result
  }
}
