import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { AirmcpError } from '../../errors.js'

const TARGETS = ['compose', 'kubernetes']

export default class Deploy extends BaseCommand {
  static override summary = 'Deploy the fleet: container images plus compose or Kubernetes files.'
  static override description = `Targets: ${TARGETS.map((t) => `airmcp deploy ${t}`).join(', ')}.`
  static override examples = ['<%= config.bin %> deploy compose', '<%= config.bin %> deploy kubernetes --replicas 3']
  static override args = { target: Args.string({ description: `One of: ${TARGETS.join(', ')}` }) }

  async run(): Promise<void> {
    const { args } = await this.parse(Deploy)
    throw new AirmcpError(
      'UNKNOWN_TARGET',
      args.target ? `"${args.target}" is not a deploy target.` : 'airmcp deploy needs a target.',
      TARGETS.map((t) => `airmcp deploy ${t}`).join(', or '),
    )
  }
}
