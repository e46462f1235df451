import { z } from 'zod'

import { IDENTIFIER, PARAM_TYPES, TOOL_NAME, TOOL_NAME_RULE } from '../names.js'

export { PARAM_TYPES }

const paramSchema = z
  .object({
    type: z.enum(PARAM_TYPES, { error: `must be one of ${PARAM_TYPES.join(', ')}` }),
    description: z.string().optional(),
    optional: z.boolean().optional(),
    enum: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    default: z.unknown().optional(),
  })
  .strict()

const toolSchema = z
  .object({
    name: z.string().regex(TOOL_NAME, { error: `must be ${TOOL_NAME_RULE}` }),
    description: z.string().optional(),
    params: z
      .record(z.string().regex(IDENTIFIER, { error: 'param names must be JavaScript identifiers' }), paramSchema)
      .optional(),
    layer: z.number().int().optional(),
  })
  .strict()

const transportSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdio') }).strict(),
  z.object({ type: z.literal('sse'), port: z.number().int().min(1).max(65535).optional() }).strict(),
  z
    .object({
      type: z.literal('http'),
      port: z.number().int().min(1).max(65535).optional(),
      path: z.string().startsWith('/').optional(),
    })
    .strict(),
])

const pluginSchema = z.union([
  z.object({ cache: z.object({ ttlMs: z.number().int().positive(), exclude: z.array(z.string()).optional() }).strict() }).strict(),
  z.object({ timeout: z.object({ ms: z.number().int().positive() }).strict() }).strict(),
  z.object({ retry: z.object({ retries: z.number().int().min(0).optional() }).strict() }).strict(),
  z.object({ logger: z.object({ json: z.boolean().optional() }).strict() }).strict(),
])

/** A tool spec: everything `airmcp add server` needs to generate a server. */
export const toolSpecSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).optional(),
    version: z.string().optional(),
    description: z.string().optional(),
    transport: transportSchema.optional(),
    plugins: z.array(pluginSchema).optional(),
    tools: z.array(toolSchema).default([]),
    resources: z
      .array(
        z
          .object({
            uri: z.string().min(1),
            name: z.string().min(1),
            description: z.string().optional(),
            mimeType: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Set<string>()
    spec.tools.forEach((tool, i) => {
      if (seen.has(tool.name)) {
        ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `duplicate tool name "${tool.name}"` })
      }
      seen.add(tool.name)
    })
  })

export type ToolSpec = z.output<typeof toolSpecSchema>
export type ToolSpecTool = ToolSpec['tools'][number]
export type ToolSpecParam = NonNullable<ToolSpecTool['params']>[string]
export type ToolSpecTransport = NonNullable<ToolSpec['transport']>

/** The JSON Schema editors use to check spec files. */
export function toolSpecJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(toolSpecSchema, { io: 'input' }) as Record<string, unknown>
}
