import { createRequire } from 'node:module'
import type { Node, ObjectLiteralExpression } from 'ts-morph'
import { preloadWithCodeCache } from './code-cache.js'

export type Morph = typeof import('ts-morph')

let morph: Morph | undefined

/** ts-morph, loaded once per process and only by commands that parse sources (`--help` never pays for it). */
export function requireMorph(): Morph {
  if (!morph) {
    const require = createRequire(import.meta.url)
    // Its TypeScript compiler first, with V8's compiled code kept between runs (Node 20's only cache).
    preloadWithCodeCache(createRequire(require.resolve('ts-morph')).resolve('@ts-morph/common/dist/typescript.js'))
    // require, not import(): importing CommonJS from ESM first scans it for its exports, ~120 ms of CPU here.
    morph = require('ts-morph') as Morph
  }
  return morph
}

/** `requireMorph` for callers that await it. */
export async function loadMorph(): Promise<Morph> {
  return requireMorph()
}

/** A literal's value, or undefined when the node is not a plain literal. */
export function literalValue(morph: Morph, node: Node | undefined): unknown {
  const { Node: N } = morph
  if (!node) return undefined
  if (N.isStringLiteral(node) || N.isNoSubstitutionTemplateLiteral(node)) return node.getLiteralValue()
  if (N.isNumericLiteral(node)) return node.getLiteralValue()
  if (N.isTrueLiteral(node)) return true
  if (N.isFalseLiteral(node)) return false
  if (N.isArrayLiteralExpression(node)) {
    const values = node.getElements().map((e) => literalValue(morph, e))
    return values.some((v) => v === undefined) ? undefined : values
  }
  if (N.isObjectLiteralExpression(node)) return objectValue(morph, node)
  return undefined
}

/** True when `literalValue` captures the whole node: no property, element or value of it is left out. */
export function isWholeLiteral(morph: Morph, node: Node | undefined): boolean {
  const { Node: N } = morph
  if (!node) return false
  if (N.isObjectLiteralExpression(node)) {
    return node.getProperties().every((p) => N.isPropertyAssignment(p) && isWholeLiteral(morph, p.getInitializer()))
  }
  if (N.isArrayLiteralExpression(node)) return node.getElements().every((e) => isWholeLiteral(morph, e))
  return literalValue(morph, node) !== undefined
}

/** The literal properties of an object literal (non-literal ones are left out). */
export function objectValue(morph: Morph, node: ObjectLiteralExpression): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const property of node.getProperties()) {
    if (!morph.Node.isPropertyAssignment(property)) continue
    const value = literalValue(morph, property.getInitializer())
    if (value !== undefined) out[property.getName().replace(/^['"]|['"]$/g, '')] = value
  }
  return out
}
