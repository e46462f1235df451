import type { Hook } from '@oclif/core'
import { error } from '@oclif/core/errors'
import { closest } from './usage-errors.js'

/**
 * `airmcp nwe`: what is wrong, a code and what to type instead, in the voice of every other error (this
 * replaces @oclif/plugin-not-found, whose prompt and wording differed, and whose loading slowed every start).
 */
const hook: Hook<'command_not_found'> = async function ({ id, config }) {
  const bin = config.bin
  const words = id.split(':')
  // `gateway sync extra`: a command followed by words it does not take.
  for (let length = words.length - 1; length > 0; length--) {
    const command = words.slice(0, length).join(':')
    if (config.findCommand(command)) {
      const typed = `${bin} ${command.replaceAll(':', ' ')}`
      error(`${typed} takes no argument "${words.slice(length).join(' ')}".`, {
        code: 'UNEXPECTED_ARGUMENT',
        exit: 2,
        suggestions: [`see what it takes: ${typed} --help`],
      })
    }
  }
  const typed = words.join(' ')
  const near = closest(typed, config.commandIDs.map((commandId) => commandId.replaceAll(':', ' ')))
  error(`"${typed}" is not an ${bin} command.`, {
    code: 'UNKNOWN_COMMAND',
    exit: 127,
    suggestions: [`${near ? `${bin} ${near}? ` : ''}${bin} --help lists every command.`],
  })
}

export default hook
