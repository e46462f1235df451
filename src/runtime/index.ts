/**
 * airmcp: define MCP servers, tools, resources and prompts, and serve them over stdio, SSE or Streamable HTTP.
 * This entry point loads only the MCP SDK (with the MCP Apps extension's server constants), zod and
 * @opentelemetry/api (prom-client and the OpenTelemetry SDK are loaded on start, and only when metrics or
 * tracing are on).
 */
export { defineServer, type McpServer, type ServerOptions, type TransportConfig } from './server.js'
export type { ResourceAuthOptions } from '../http/oauth-resource.js'
export type { Principal } from '../http/principal.js'
export {
  defineTool,
  type Content,
  type LogLevel,
  type ToolContext,
  type ToolDefinition,
  type ToolOptions,
  type ToolResult,
} from './tool.js'
export type { ToolUi } from './app.js'
export { defineResource, matchTemplate, type ResourceDefinition, type ResourceOptions, type TemplateVariables } from './resource.js'
export {
  MemoryTaskStore,
  TASKS_EXTENSION,
  type TaskOptions,
  type TaskState,
  type TaskStatus,
  type TaskStore,
} from './tasks.js'
export { definePrompt, type PromptDefinition, type PromptOptions, type PromptMessage } from './prompt.js'
export type { ParamInput, ParamSpec, ParamType, ParamsInput, ArgsOf } from './params.js'
export type { Plugin, ToolCall, NextFn } from './plugin.js'
export { cachePlugin, type CacheOptions } from './plugins/cache.js'
export { timeoutPlugin } from './plugins/timeout.js'
export { retryPlugin, type RetryOptions } from './plugins/retry.js'
export { rateLimitPlugin, type RateLimitOptions } from './plugins/rate-limit.js'
export { loggerPlugin, type LoggerOptions } from './plugins/logger.js'
