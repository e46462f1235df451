import { assertName, type ToolContext } from './tool.js'

export interface PromptArgument {
  description?: string
  required?: boolean
}

export interface PromptMessage {
  role: 'user' | 'assistant'
  content: { type: 'text'; text: string } | { type: string; [key: string]: unknown }
}

/** What a prompt handler may return: a text (one user message), messages, or `{ messages }`. */
export type PromptValue = string | PromptMessage[] | { description?: string; messages: PromptMessage[] }

export interface PromptOptions {
  title?: string
  description?: string
  /** Arguments by name, as a record or a list with names. */
  arguments?: Record<string, PromptArgument> | (PromptArgument & { name: string })[]
  /** Completion of an argument: values offered for what the user typed so far. */
  complete?: Record<string, (value: string, context: Record<string, string>) => string[] | Promise<string[]>>
  /** Gets the arguments and the same context as a tool handler (to elicit, log, ...). */
  handler: (args: Record<string, string>, context: ToolContext) => PromptValue | Promise<PromptValue>
}

export interface PromptDefinition {
  kind: 'prompt'
  name: string
  title?: string
  description?: string
  arguments: (PromptArgument & { name: string })[]
  complete?: PromptOptions['complete']
  handler: PromptOptions['handler']
}

/**
 * Defines a prompt with advertised arguments and optional argument completion.
 * @example
 * definePrompt('review', { arguments: { code: { required: true } }, handler: ({ code }) => `Review:\n${code}` })
 */
export function definePrompt(name: string, options: PromptOptions): PromptDefinition {
  assertName('prompt', name)
  if (typeof options?.handler !== 'function') {
    throw new TypeError(`Prompt "${name}" has no handler. Try this: add handler: (args) => 'text'.`)
  }
  const args = Array.isArray(options.arguments)
    ? options.arguments
    : Object.entries(options.arguments ?? {}).map(([argName, arg]) => ({ name: argName, ...arg }))
  return {
    kind: 'prompt',
    name,
    title: options.title,
    description: options.description,
    arguments: args,
    complete: options.complete,
    handler: options.handler,
  }
}

/** Turns a handler's value into MCP `prompts/get` messages. */
export function toPromptResult(value: PromptValue, description?: string) {
  if (typeof value === 'string') {
    return { description, messages: [{ role: 'user' as const, content: { type: 'text' as const, text: value } }] }
  }
  if (Array.isArray(value)) return { description, messages: value }
  return { description: value.description ?? description, messages: value.messages }
}
