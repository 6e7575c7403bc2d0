// What the demo shows: the dashboard (redrawn in place on a terminal), the one-line progress of
// a pipe, and the summary. Plain data in, lines of text out. Pure.

export interface EndpointRow {
  readonly id: string
  /** The node serving it now, or null (nobody: the owner died, or not started yet). */
  readonly owner: string | null
  readonly epoch: number | null
  readonly tunnels: number | null
  readonly sessions: number | null
  /** What the LAC (the peer) holds toward this endpoint. */
  readonly lacTunnels: number | null
  readonly lacSessions: number | null
  readonly recovery: string
}

export interface Dashboard {
  readonly title: string
  readonly phase: string
  readonly rows: readonly EndpointRow[]
  readonly nodes: readonly string[]
  readonly registry: string
  readonly events: readonly string[]
}

const cell = (v: number | string | null): string => (v === null ? '-' : String(v))

/** Columns padded to their widest cell, two spaces apart. */
export const table = (rows: ReadonlyArray<readonly string[]>): string[] => {
  const widths: number[] = []
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length)
    })
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
}

/** The dashboard as lines, each cut to `width` columns (a wrapped line would break the redraw). */
export const renderDashboard = (d: Dashboard, width: number): string[] => {
  const header = [
    'ENDPOINT',
    'OWNER',
    'EPOCH',
    'TUNNELS',
    'SESSIONS',
    'AT THE LAC (TUNNELS/SESSIONS)',
    'RECOVERY',
  ]
  const body = d.rows.map((r) => [
    r.id,
    cell(r.owner),
    cell(r.epoch),
    cell(r.tunnels),
    cell(r.sessions),
    r.lacTunnels === null ? '-' : `${r.lacTunnels} / ${cell(r.lacSessions)}`,
    r.recovery,
  ])
  const lines = [
    d.title,
    `phase: ${d.phase}`,
    '',
    ...table([header, ...body]),
    '',
    ...d.nodes.map((n) => `  ${n}`),
    `  ${d.registry}`,
    '',
    ...d.events.map((e) => `  ${e}`),
  ]
  return lines.map((l) => (l.length > width ? `${l.slice(0, Math.max(0, width - 1))}…` : l))
}

/** One line for a pipe: the endpoints in short. */
export const progressLine = (d: Dashboard): string =>
  d.rows
    .map(
      (r) =>
        (r.owner === null
          ? `${r.id}: no owner`
          : `${r.id}: ${r.owner} epoch ${cell(r.epoch)}, ${cell(r.tunnels)} tunnels ${cell(r.sessions)} sessions`) +
        (r.recovery === '-' ? '' : ` (${r.recovery})`),
    )
    .concat(d.registry)
    .join(' | ')

export interface Figures {
  readonly sessionsBefore: number
  readonly sessionsAfter: number
  readonly sessionsPreserved: number
  readonly killed: string
  readonly endpoint: string
  readonly standby: string
  readonly epochBefore: number | null
  readonly epochAfter: number | null
  readonly tunnelsOfEndpoint: number
  readonly tunnelsRecovered: number
  readonly detectionS: number | null
  readonly rehydrationS: number | null
  readonly recoveryS: number | null
}

const secs = (s: number | null): string => (s === null ? 'not seen' : `${s.toFixed(2)} s`)

/** The figures part of the summary. */
export const figureLines = (f: Figures): string[] => {
  const lost = f.sessionsBefore - f.sessionsPreserved
  return table([
    ['sessions before the kill (held by the LACs)', String(f.sessionsBefore)],
    ['sessions after recovery', String(f.sessionsAfter)],
    [
      'sessions preserved',
      `${f.sessionsPreserved} of ${f.sessionsBefore}${lost === 0 ? ' (all)' : ` (${lost} LOST)`}`,
    ],
    [
      `${f.endpoint}: owner`,
      `${f.killed} epoch ${cell(f.epochBefore)} -> ${f.standby} epoch ${cell(f.epochAfter)}`,
    ],
    ['detection (kill -> standby holds the lease)', secs(f.detectionS)],
    ['rehydration (lease -> serving, table from Kafka)', secs(f.rehydrationS)],
    [
      `RFC 4951 recovery (kill -> all ${f.tunnelsOfEndpoint} tunnels recovered)`,
      `${secs(f.recoveryS)} (${f.tunnelsRecovered} of ${f.tunnelsOfEndpoint} recovered)`,
    ],
  ]).map((l) => `  ${l}`)
}

/**
 * A forensic timeline cut for a summary: every event, but each run of session set-ups folded into
 * one line.
 */
export const timelineExcerpt = (lines: readonly string[], max = 12): string[] => {
  const out: string[] = []
  let folded = 0
  for (const l of lines) {
    if (/\bSessionEstablished\b/.test(l) && out.length > 0) {
      folded++
      continue
    }
    if (folded > 0) {
      out.push(`  ... ${folded} x SessionEstablished`)
      folded = 0
    }
    out.push(l)
  }
  if (folded > 0) out.push(`  ... ${folded} x SessionEstablished`)
  return out.length > max ? [...out.slice(0, max), `  ... ${out.length - max} more lines`] : out
}
