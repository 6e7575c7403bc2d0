// The metric names a PromQL expression reads (for checking dashboards against what the programs
// export): label matchers, ranges, grouping clauses and strings removed, function calls and
// keywords skipped. Enough for the dashboard's queries, not a PromQL parser. Pure.

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring'])

export const promqlMetricNames = (expr: string): string[] => {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names: string[] = []
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = bare.slice((m.index ?? 0) + m[0].length)
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0])) continue
    names.push(m[0])
  }
  return names
}
