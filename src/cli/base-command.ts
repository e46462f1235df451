import { Command, Flags } from '@oclif/core'
import { AirmcpError } from '../errors.js'
import { type CommandUsage, usageError } from './usage-errors.js'

/** Shared behaviour: `--json` output of run()'s result, and errors with a code and a "Try this:" line. */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  /**
   * Commands that stream prefixed lines (start, dev) report an expected failure as one `Error: … Try this: …`
   * line on stderr, in step with their other output, instead of oclif's framed message.
   */
  protected oneLineErrors = false

  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    // oclif's own parse errors speak with the same voice as ours; usage errors exit 2, as oclif's did.
    const usage = error instanceof AirmcpError ? undefined : usageError(error, this.usage())
    const failure = error instanceof AirmcpError ? error : usage
    if (!failure) return super.catch(error)
    const exit = usage ? 2 : 1
    if (this.oneLineErrors) {
      this.logToStderr(`Error: ${failure.message}${failure.suggestion ? ` Try this: ${failure.suggestion}` : ''} (Code: ${failure.code})`)
      this.exit(exit)
    }
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: failure.code, message: failure.message, suggestion: failure.suggestion } })
      this.exit(exit)
    }
    this.error(failure.message, { code: failure.code, exit, suggestions: failure.suggestion ? [failure.suggestion] : [] })
  }

  /** This command as its usage errors name it: `airmcp add server`, its flags and examples. */
  private usage(): CommandUsage {
    const bin = this.config.bin
    const examples = (this.ctor.examples ?? []).map((example) => (typeof example === 'string' ? example : example.command))
    return {
      id: (this.id ?? '').replaceAll(':', ' '),
      bin,
      flags: [...Object.keys(this.ctor.flags ?? {}), ...(this.ctor.enableJsonFlag ? ['json'] : [])],
      examples: examples.map((example) => example.replaceAll('<%= config.bin %>', bin)),
    }
  }

  /** Progress for humans on stderr; silent with --json. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) this.logToStderr(message)
  }
}

/** Flags every writing command has. */
export const writeFlags = {
  'dry-run': Flags.boolean({ description: 'Show what would change (with diffs); write nothing.' }),
  force: Flags.boolean({ description: 'Overwrite files that exist with other content.' }),
}

/** Flags of every command that talks to the running gateway (status, call, inspect). */
export const gatewayFlags = {
  url: Flags.string({ description: "The gateway's base URL or /mcp endpoint (default: the one this workspace runs)." }),
  token: Flags.string({ description: "The gateway's bearer token (default: AIRMCP_GATEWAY_TOKEN).", env: 'AIRMCP_GATEWAY_TOKEN' }),
}
