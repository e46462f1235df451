import { structuredPatch } from 'diff'

/** `-l,s` of a hunk header; an empty range names the line before it, as GNU diff does (`-0,0`). */
function range(start: number, lines: number): string {
  return `${lines ? start : start - 1},${lines}`
}

/** A unified diff of two texts (3 lines of context), as `--dry-run` and `--check` print it. */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined): string {
  const { hunks } = structuredPatch(path, path, before ?? '', after ?? '', undefined, undefined, { context: 3 })
  if (!hunks.length) return ''
  const header = `--- ${before === undefined ? '/dev/null' : `a/${path}`}\n+++ ${after === undefined ? '/dev/null' : `b/${path}`}\n`
  return (
    header +
    hunks
      .map((h) => `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@\n${h.lines.map((line) => `${line}\n`).join('')}`)
      .join('')
  )
}
