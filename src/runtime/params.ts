import { z } from 'zod'
import { PARAM_TYPES } from '../names.js'

/** The value types a seed-style param may declare. */
export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array'

/** A param as the seed writes it: `{ type: 'string', description: 'Search query', optional: true }`. */
export interface ParamSpec {
  type: ParamType
  description?: string
  optional?: boolean
  enum?: readonly (string | number)[]
  default?: unknown
  /** Item type of an `array` param. */
  items?: ParamType | ParamSpec
}

/** A param: a spec object, a shorthand such as `'string'` or `'number?'`, or a raw zod schema. */
export type ParamInput = ParamSpec | ParamType | `${ParamType}?` | z.ZodType

/** The params of a tool: a record of params, or a raw zod object schema. */
export type ParamsInput = Readonly<Record<string, ParamInput>> | z.ZodObject

type BaseOf<T> = T extends 'string'
  ? string
  : T extends 'number' | 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'array'
        ? unknown[]
        : T extends 'object'
          ? Record<string, unknown>
          : unknown

type ValueOf<P> = P extends z.ZodType
  ? z.output<P>
  : P extends `${infer B}?`
    ? BaseOf<B>
    : P extends string
      ? BaseOf<P>
      : P extends { enum: readonly (infer E)[] }
        ? E
        : P extends { type: infer T }
          ? BaseOf<T>
          : unknown

type IsOptional<P> = P extends `${string}?`
  ? true
  : P extends { default: unknown }
    ? false
    : P extends { optional: true }
      ? true
      : P extends z.ZodType
        ? undefined extends z.output<P>
          ? true
          : false
        : false

type OptionalKeys<P> = { [K in keyof P]: IsOptional<P[K]> extends true ? K : never }[keyof P]
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The argument object a handler receives for the given params. */
export type ArgsOf<P> = P extends z.ZodObject
  ? z.output<P>
  : [P] extends [undefined]
    ? Record<string, never>
    : Simplify<
        { -readonly [K in Exclude<keyof P, OptionalKeys<P>>]: ValueOf<P[K]> } & {
          -readonly [K in OptionalKeys<P>]?: ValueOf<P[K]>
        }
      >


function isZod(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value
}

function baseSchema(type: unknown, where: string, spec?: ParamSpec): z.ZodType {
  switch (type) {
    case 'string':
      return z.string()
    case 'number':
      return z.number()
    case 'integer':
      return z.number().int()
    case 'boolean':
      return z.boolean()
    case 'object':
      return z.record(z.string(), z.unknown())
    case 'array':
      return z.array(spec?.items ? paramToZod(spec.items, `${where}.items`) : z.unknown())
    default:
      throw new TypeError(
        `${where}: unknown param type ${JSON.stringify(type)}. Try this: one of ${PARAM_TYPES.join(', ')}.`,
      )
  }
}

function paramToZod(input: ParamInput, where: string): z.ZodType {
  if (isZod(input)) return input
  if (typeof input === 'string') {
    const optional = input.endsWith('?')
    const schema = baseSchema(optional ? input.slice(0, -1) : input, where)
    return optional ? schema.optional() : schema
  }
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`${where}: a param must be an object like { type: 'string' }, a type name, or a zod schema.`)
  }
  let schema: z.ZodType
  if (input.enum) {
    const values = input.enum
    schema = values.every((v) => typeof v === 'string')
      ? z.enum(values as [string, ...string[]])
      : z.union(values.map((v) => z.literal(v)) as [z.ZodLiteral, ...z.ZodLiteral[]])
  } else {
    schema = baseSchema(input.type, where, input)
  }
  if (input.description) schema = schema.describe(input.description)
  if (input.default !== undefined) return schema.default(input.default as never)
  return input.optional ? schema.optional() : schema
}

/** Turns a tool's params into one zod object schema; `where` names the tool in errors. */
export function paramsToSchema(params: ParamsInput | undefined, where: string): z.ZodObject {
  if (params === undefined) return z.object({})
  if (isZod(params)) {
    if (!(params instanceof z.ZodObject)) {
      throw new TypeError(`${where}: params given as a zod schema must be z.object({...}).`)
    }
    return params
  }
  const shape: Record<string, z.ZodType> = {}
  for (const [key, value] of Object.entries(params)) {
    shape[key] = paramToZod(value as ParamInput, `${where}: param "${key}"`)
  }
  return z.object(shape)
}

/** The JSON Schema MCP advertises for a zod object schema (draft 2020-12, `type: object`). */
export function toInputSchema(schema: z.ZodType): { type: 'object'; [key: string]: unknown } {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >
  return { ...json, type: 'object' }
}

/** Formats a zod error as "limit: expected number, received string; ...". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ')
}
