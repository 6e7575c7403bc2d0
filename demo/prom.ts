// The Prometheus text exposition format, read: samples by metric name with their labels. Only
// what the demo and the dashboard test need (no histograms' semantics, no timestamps). Pure.

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample of a scrape; comment and malformed lines are skipped. */
export const parseMetrics = (text: string): readonly Sample[] => {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (m === null || m[1] === undefined || m[4] === undefined) continue
    const labels: Record<string, string> = {}
    for (const l of (m[3] ?? '').matchAll(LABEL)) if (l[1] !== undefined) labels[l[1]] = l[2] ?? ''
    const value = Number(m[4])
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value })
  }
  return out
}

/** The metric names a scrape declares (`# TYPE` lines) and the sample names it carries. */
export const metricNames = (text: string): ReadonlySet<string> => {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line)
    if (t?.[1] !== undefined) {
      names.add(t[1])
      if (t[2] === 'histogram' || t[2] === 'summary')
        for (const s of ['_bucket', '_sum', '_count']) names.add(`${t[1]}${s}`)
    }
  }
  for (const s of parseMetrics(text)) names.add(s.name)
  return names
}

/** The value of `name` whose labels include `labels`, or null when no sample matches. */
export const sampleValue = (
  samples: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | null => {
  for (const s of samples)
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
  return null
}
