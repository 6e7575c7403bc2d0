// Differences between two versions of an endpoint's table (l2tpctl diff). Pure.
import { toView } from './canonical.js'
import type { EndpointTable } from './table.js'

export interface TableDiff {
  readonly tunnelsAdded: number[]
  readonly tunnelsRemoved: number[]
  readonly tunnelsChanged: number[]
  /** `${tunnel}/${session}` */
  readonly sessionsAdded: string[]
  readonly sessionsRemoved: string[]
  readonly sessionsChanged: string[]
}

export const diffTables = (before: EndpointTable, after: EndpointTable): TableDiff => {
  const a = new Map(toView(before).tunnels.map((t) => [t.localTunnelId as number, t]))
  const b = new Map(toView(after).tunnels.map((t) => [t.localTunnelId as number, t]))
  const d: TableDiff = {
    tunnelsAdded: [],
    tunnelsRemoved: [],
    tunnelsChanged: [],
    sessionsAdded: [],
    sessionsRemoved: [],
    sessionsChanged: [],
  }
  for (const [id, t] of b) {
    const old = a.get(id)
    if (old === undefined) d.tunnelsAdded.push(id)
    const { sessions: sb, ...tb } = t
    const oldSessions = new Map((old?.sessions ?? []).map((s) => [s.localSessionId as number, s]))
    if (old !== undefined) {
      const { sessions: _sa, ...ta } = old
      void _sa
      if (JSON.stringify(ta) !== JSON.stringify(tb)) d.tunnelsChanged.push(id)
    }
    for (const s of sb) {
      const o = oldSessions.get(s.localSessionId)
      if (o === undefined) d.sessionsAdded.push(`${id}/${s.localSessionId}`)
      else if (JSON.stringify(o) !== JSON.stringify(s)) d.sessionsChanged.push(`${id}/${s.localSessionId}`)
      oldSessions.delete(s.localSessionId)
    }
    for (const sid of oldSessions.keys()) d.sessionsRemoved.push(`${id}/${sid}`)
  }
  for (const [id, t] of a) {
    if (b.has(id)) continue
    d.tunnelsRemoved.push(id)
    for (const s of t.sessions) d.sessionsRemoved.push(`${id}/${s.localSessionId}`)
  }
  return d
}
