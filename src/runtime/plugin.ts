import type { ToolContext, ToolDefinition, ToolResult } from './tool.js'

/** One tool call as plugins see it. */
export interface ToolCall {
  tool: ToolDefinition
  args: Record<string, unknown>
  context: ToolContext
}

/** Runs the rest of the chain (the next plugin, finally the handler), optionally with a changed call. */
export type NextFn = (call?: ToolCall) => Promise<ToolResult>

/**
 * Middleware around tool calls. Plugins run in the order of `use`: the first one is outermost.
 * A handler's thrown error travels back up through every plugin (so retry sees it); only after the
 * outermost plugin does the error boundary turn it into an `isError` result.
 */
export interface Plugin {
  name: string
  onCall(call: ToolCall, next: NextFn): Promise<ToolResult>
}

/** Composes plugins around the innermost step, outermost first. */
export function composePlugins(plugins: readonly Plugin[], innermost: (call: ToolCall) => Promise<ToolResult>) {
  return (call: ToolCall): Promise<ToolResult> => {
    const step = (index: number, current: ToolCall): Promise<ToolResult> => {
      if (index === plugins.length) return innermost(current)
      return plugins[index].onCall(current, (changed) => step(index + 1, changed ?? current))
    }
    return step(0, call)
  }
}
