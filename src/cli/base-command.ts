import { Command, Flags } from '@oclif/core'
import { AirmcpError } from '../errors.js'

/** Shared behaviour: `--json` output of run()'s result, and errors with a code and a "Try this:" line. */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  /**
   * Commands that stream prefixed lines (start, dev) report an expected failure as one `Error: … Try this: …`
   * line on stderr, in step with their other output, instead of oclif's framed message.
   */
  protected oneLineErrors = false

  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    if (error instanceof AirmcpError && this.oneLineErrors) {
      this.logToStderr(`Error: ${error.message}${error.suggestion ? ` Try this: ${error.suggestion}` : ''}`)
      this.exit(1)
    }
    if (error instanceof AirmcpError) {
      if (this.jsonEnabled()) {
        this.logJson({ error: { code: error.code, message: error.message, suggestion: error.suggestion } })
        this.exit(1)
      }
      this.error(error.message, { code: error.code, exit: 1, suggestions: error.suggestion ? [error.suggestion] : [] })
    }
    return super.catch(error)
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
