import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { applyTree, type ApplyResult } from '../tree/apply.js'
import { BaseCommand, writeFlags } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'
import { validateWorkspaceName } from '../workspace/names.js'
import { runInstall, runGitInit, detectPackageManager, PACKAGE_MANAGERS, type PackageManager } from '../tasks/install.js'
import { Tree } from '../tree/tree.js'

export interface NewResult extends ApplyResult {
  name: string
  directory: string
  servers: string[]
  installed: boolean
  git: boolean
}

export default class New extends BaseCommand {
  static override summary = 'Create a workspace: npm workspaces servers/* and gateway/.'
  static override description =
    'Scaffolds a workspace whose gateway reaches every server under servers/. With --example it holds the ' +
    "seed's three servers (search and files over SSE, analytics over stdio), already registered."
  static override examples = [
    '<%= config.bin %> new my-platform',
    '<%= config.bin %> new my-platform --example',
    '<%= config.bin %> new my-platform --yes --no-install --no-git --dry-run',
  ]
  static override args = {
    name: Args.string({ description: 'Workspace (and folder) name, an npm package name' }),
  }
  static override flags = {
    ...writeFlags,
    example: Flags.boolean({ description: "Add the seed's search, files and analytics servers." }),
    yes: Flags.boolean({ char: 'y', description: 'Take the defaults; never prompt.' }),
    'package-manager': Flags.string({ options: [...PACKAGE_MANAGERS], description: 'Installs with (default: the one running this).' }),
    install: Flags.boolean({ allowNo: true, default: true, description: 'Install dependencies.' }),
    git: Flags.boolean({ allowNo: true, default: true, description: 'Initialise a git repository.' }),
    runtime: Flags.string({ description: 'How the workspace depends on airmcp (default: a file: link while unpublished, else ^version).' }),
    port: Flags.integer({ description: "The gateway's port.", default: 4000, min: 0, max: 65535 }),
  }

  async run(): Promise<NewResult> {
    const { args, flags } = await this.parse(New)
    const name = args.name ?? (await this.askName(flags.yes))
    const { packageName, dirName } = validateWorkspaceName(name)
    const directory = resolve(dirName)
    checkTarget(directory, flags.force)
    const tree = new Tree(directory)
    const { chooseRuntimeSpec, localRuntimeSpec } = await import('../workspace/runtime-spec.js')
    const runtime = flags.runtime ?? (await chooseRuntimeSpec((line) => this.note(line)))
    const { workspaceGenerator } = await import('../generators/workspace/index.js')
    const { servers } = await workspaceGenerator(tree, {
      packageName,
      dirName,
      runtime,
      example: flags.example,
      force: flags.force,
      gatewayPort: flags.port,
    })
    const applied = applyTree(tree, { dryRun: flags['dry-run'], print: (line) => this.note(line), prefix: `${dirName}/` })
    const result: NewResult = { ...applied, name: packageName, directory, servers: servers.map((s) => s.name), installed: false, git: false }
    if (flags['dry-run']) return result
    const pm: PackageManager = (flags['package-manager'] as PackageManager | undefined) ?? detectPackageManager()
    if (flags.git) result.git = await runGitInit(directory)
    if (flags.install) {
      await runInstall(pm, directory, (message) => this.note(message)).catch((error: AirmcpError) => {
        // The usual cause: an airmcp version the registry does not have (a CLI installed from a tarball).
        if (error.code !== 'INSTALL_FAILED' || runtime.startsWith('file:')) throw error
        throw new AirmcpError(
          error.code,
          `${error.message}\nThe workspace asks for airmcp "${runtime}".`,
          `if the registry has no such airmcp, point the workspace at a package or tarball: airmcp new ${dirName} --force --runtime <path|tarball> (this CLI's own: --runtime ${localRuntimeSpec()}); else: ${error.suggestion}`,
        )
      })
      result.installed = true
    }
    // The README's next step: dev builds, runs and watches everything.
    this.note(`\nCreated ${dirName}. Next:\n  cd ${dirName}${flags.install ? '' : ` && ${pm} install`} && npx airmcp dev`)
    return result
  }

  private async askName(yes: boolean): Promise<string> {
    if (yes || !process.stdin.isTTY || !process.stdout.isTTY) {
      throw new AirmcpError('MISSING_NAME', 'No workspace name given.', 'pass one: airmcp new my-platform')
    }
    const { input } = await import('@inquirer/prompts')
    return input({ message: 'Workspace name', default: 'my-platform' })
  }
}

/** Refuses a non-empty target without --force and a parent we cannot write to. */
function checkTarget(directory: string, force: boolean): void {
  if (existsSync(directory)) {
    if (readdirSync(directory).length > 0 && !force) {
      throw new AirmcpError('DIRECTORY_NOT_EMPTY', `Directory "${directory}" is not empty.`, 'use --force to write into it, or choose another name.')
    }
    return
  }
  let parent = dirname(directory)
  while (!existsSync(parent)) parent = dirname(parent)
  // A real write, not access(): root passes access() even on read-only mounts.
  const probe = join(parent, `.airmcp-probe-${process.pid}`)
  try {
    writeFileSync(probe, '')
    rmSync(probe)
  } catch {
    throw new AirmcpError('NOT_WRITABLE', `Cannot create "${directory}": "${parent}" is not writable.`, 'choose a folder you can write to.')
  }
}
