/** A unified diff of two texts (3 lines of context), as `--dry-run` and `--check` print it. */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined): string {
  const a = before === undefined ? [] : splitLines(before)
  const b = after === undefined ? [] : splitLines(after)
  const ops = diffLines(a, b)
  const header = `--- ${before === undefined ? '/dev/null' : `a/${path}`}\n+++ ${after === undefined ? '/dev/null' : `b/${path}`}\n`
  const hunks: string[] = []
  const context = 3
  let i = 0
  while (i < ops.length) {
    if (ops[i].kind === ' ') {
      i++
      continue
    }
    let start = Math.max(0, i - context)
    let end = i
    // Extend the hunk while changes are within 2*context lines of each other.
    while (end < ops.length) {
      let next = end
      while (next < ops.length && ops[next].kind !== ' ') next++
      let gap = next
      while (gap < ops.length && ops[gap].kind === ' ') gap++
      if (gap < ops.length && gap - next <= context * 2) end = gap
      else {
        end = Math.min(ops.length, next + context)
        break
      }
    }
    const slice = ops.slice(start, end)
    const aStart = ops.slice(0, start).filter((o) => o.kind !== '+').length
    const bStart = ops.slice(0, start).filter((o) => o.kind !== '-').length
    const aLen = slice.filter((o) => o.kind !== '+').length
    const bLen = slice.filter((o) => o.kind !== '-').length
    hunks.push(
      `@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@\n` +
        slice.map((o) => `${o.kind}${o.line}\n`).join(''),
    )
    i = end
    start = end
  }
  return hunks.length ? header + hunks.join('') : ''
}

function splitLines(text: string): string[] {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
}

/** Line diff by longest common subsequence; the files we plan are small. */
function diffLines(a: string[], b: string[]): { kind: ' ' | '-' | '+'; line: string }[] {
  const n = a.length
  const m = b.length
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
    }
  }
  const ops: { kind: ' ' | '-' | '+'; line: string }[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++] })
      j++
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ kind: '-', line: a[i++] })
    else ops.push({ kind: '+', line: b[j++] })
  }
  return ops
}
