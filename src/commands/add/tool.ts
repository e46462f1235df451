import { Args, Flags } from '@oclif/core'
import { applyTree, type ApplyResult } from '../../tree/apply.js'
import { BaseCommand } from '../../cli/base-command.js'
import { findWorkspaceRoot } from '../../workspace/root.js'
import { Tree } from '../../tree/tree.js'

export default class AddTool extends BaseCommand {
  static override summary = "Add a tool to a server's tools array (with ts-morph; the rest of the file stays as it is)."
  static override examples = [
    '<%= config.bin %> add tool search suggest --param prefix:string --param limit:number?',
    '<%= config.bin %> add tool notes archive --description "Archive a note" --dry-run',
    '<%= config.bin %> add tool dash chart --ui',
    '<%= config.bin %> add tool jobs reindex --task',
  ]
  static override args = {
    server: Args.string({ description: 'The server (folder under servers/)', required: true }),
    tool: Args.string({ description: 'The tool name', required: true }),
  }
  static override flags = {
    param: Flags.string({ multiple: true, description: 'name:type or name:type? (string, number, integer, boolean, object, array); repeatable.' }),
    description: Flags.string({ description: 'What the tool does (the model reads it).' }),
    ui: Flags.boolean({ description: 'Give the tool an MCP App: src/<tool>.html, shown by the host with the tool\'s result.' }),
    task: Flags.boolean({ description: 'A long-running tool: it runs as a task (progress, cancellation) for clients that negotiate tasks.' }),
    'dry-run': Flags.boolean({ description: 'Print the diff; write nothing.' }),
  }

  async run(): Promise<ApplyResult & { file: string; added: boolean }> {
    const { args, flags } = await this.parse(AddTool)
    const tree = new Tree(findWorkspaceRoot())
    const { toolGenerator } = await import('../../generators/tool/index.js')
    const result = await toolGenerator(tree, { server: args.server, tool: args.tool, params: flags.param, description: flags.description, ui: flags.ui, task: flags.task })
    if (!result.added) this.note(`Tool "${args.tool}" already exists in ${result.file}; nothing to do.`)
    const applied = applyTree(tree, { dryRun: flags['dry-run'], print: (line) => this.note(line) })
    return { ...applied, ...result }
  }
}
