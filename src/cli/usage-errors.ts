import { AirmcpError } from '../errors.js'

/** What a usage error needs to know about the command it happened in. */
export interface CommandUsage {
  /** As the user types it: `add server`. */
  id: string
  bin: string
  flags: string[]
  /** The command's examples, `<%= config.bin %>` already replaced. */
  examples: string[]
}

/**
 * oclif's own parse errors (unknown flag, a value outside the options, a missing argument, …) in the voice of
 * every other error: what is wrong, a code, and a "Try this:" with something to type. Undefined for any other error.
 */
export function usageError(error: unknown, usage: CommandUsage): AirmcpError | undefined {
  // Parse errors carry `parse`; a flag's own parser's error is rewritten to `Parsing --flag …` instead.
  if (!(error instanceof Error) || !('parse' in error || /^Parsing --[\w-]+ \n/.test(error.message))) return undefined
  const command = `${usage.bin} ${usage.id}`
  const help = `${command} --help`
  const example = usage.examples[0] ? `e.g. ${usage.examples[0]} (${help} shows more)` : `see ${help}`
  const kind = error.constructor.name
  const text = plain(error.message)
  if (kind === 'RequiredArgsError') {
    const missing = ((error as { args?: { name: string; description?: string }[] }).args ?? []).map(
      (arg) => `${arg.name.toUpperCase()}${arg.description ? ` (${arg.description})` : ''}`,
    )
    return new AirmcpError('MISSING_ARGUMENT', `${command} needs ${missing.join(' and ') || 'more arguments'}.`, example)
  }
  if (kind === 'NonExistentFlagsError') {
    const unknown = (error as { flags?: string[] }).flags ?? []
    const names = usage.flags.map((flag) => `--${flag}`)
    const near = unknown.length === 1 ? closest(unknown[0].replace(/=.*/, ''), names) : undefined
    const known = names.length ? `its flags: ${names.join(', ')} (${help}).` : `see ${help}.`
    return new AirmcpError('UNKNOWN_FLAG', `${command} has no flag ${unknown.join(', ')}.`, `${near ? `${near}? ` : ''}${known}`)
  }
  const option = /^Expected --([\w-]+)=(.*) to be one of: (.*)$/m.exec(text)
  if (option) {
    const [, flag, value, options] = option
    return new AirmcpError('BAD_FLAG_VALUE', `--${flag} ${value} is not one of: ${options}.`, `--${flag} ${options.split(', ')[0]}`)
  }
  const argOption = /^Expected (.*) to be one of: (.*)$/m.exec(text)
  if (argOption) {
    const [, value, options] = argOption
    return new AirmcpError('BAD_ARGUMENT', `${command} does not know "${value}": it takes one of ${options}.`, `${command} ${options.split(', ')[0]}`)
  }
  const parsing = /^Parsing (--[\w-]+)\s*\n\s*(.*)$/m.exec(text)
  if (parsing) return new AirmcpError('BAD_FLAG_VALUE', `${parsing[1]}: ${parsing[2].trim().replace(/\.$/, '')}.`, example)
  if (kind === 'UnexpectedArgsError') {
    return new AirmcpError('UNEXPECTED_ARGUMENT', `${command} takes no ${text.replace(/^Unexpected (argument)s?: /, '$1 ')}.`, example)
  }
  return new AirmcpError('BAD_USAGE', `${text.replace(/\.$/, '')}.`, example)
}

/** The message without oclif's "See more help" line and colour codes, on as few lines as it needs. */
function plain(message: string): string {
  return message
    .replace(/\nSee more help with --help$/, '')
    .replace(/\u001B\[[0-9;]*m/g, '')
    .trim()
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be what was meant. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate)
    if (!best || distance < best.distance) best = { candidate, distance }
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/**
 * The last stop before oclif prints an error (bin/run.js): what our commands did not already say in our voice
 * (the help and autocomplete plugins' errors) gets a code and a "Try this:" too. Anything else passes as it is.
 */
export async function inAirmcpVoice(error: unknown, argv: string[]): Promise<unknown> {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== undefined) return error
  const missing = /^Command (.+) not found\.$/.exec(error.message)
  const command = argv.find((arg) => !arg.startsWith('-')) ?? ''
  const failure = missing
    ? new AirmcpError('UNKNOWN_COMMAND', `"${missing[1].replaceAll(':', ' ')}" is not an airmcp command.`, 'airmcp --help lists every command.')
    : usageError(error, { id: command, bin: 'airmcp', flags: [], examples: [] })
  if (!failure) return error
  const { CLIError } = await import('@oclif/core/errors')
  return new CLIError(failure.message, { code: failure.code, exit: missing ? 127 : 2, suggestions: failure.suggestion ? [failure.suggestion] : [] })
}
