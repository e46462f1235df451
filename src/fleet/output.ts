import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

const COLOURS = [36, 35, 32, 33, 34, 91, 96, 95, 92, 93, 94] // cyan, magenta, green, yellow, blue, bright …

/** Colour only on a terminal, and never with NO_COLOR (https://no-color.org) or FORCE_COLOR=0. */
export function wantsColour(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR) return false
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0'
  return Boolean(stream.isTTY)
}

/** Writes each child's lines with its name in front (`search   | …`), one colour per name, like foreman. */
export class PrefixedOutput {
  private readonly colours = new Map<string, number>()
  private width = 7

  constructor(private readonly colour = wantsColour()) {}

  private prefix(name: string): string {
    this.width = Math.max(this.width, name.length)
    if (!this.colours.has(name)) this.colours.set(name, COLOURS[this.colours.size % COLOURS.length])
    const label = `${name.padEnd(this.width)} |`
    return this.colour ? `\u001B[${this.colours.get(name)}m${label}\u001B[0m` : label
  }

  /** One line from (or about) a child. */
  line(name: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    ;(stream === 'stderr' ? process.stderr : process.stdout).write(`${this.prefix(name)} ${text}\n`)
  }

  /** Every line of a child's stream, prefixed; `onLine` sees them too (e.g. to keep the last error). */
  follow(name: string, input: Readable, stream: 'stdout' | 'stderr', onLine?: (line: string) => void): void {
    createInterface({ input }).on('line', (text) => {
      onLine?.(text)
      this.line(name, text, stream)
    })
  }
}
