// The fleet side by side (l2tpctl nodes, fleet): the registry's endpoints next to what the live
// nodes say they serve, with the disagreements named. Pure: no I/O, text out.
import { type EndpointSummary, type Liveness, livenessText } from '../../contracts/index.js'
import type { FleetNodes, NodeRow } from '../shell/discovery.js'

export interface Claim {
  readonly nodeId: string
  readonly epoch: number
}

export interface FleetLine {
  readonly endpointId: string
  /** The registry's view; null when the registry does not know the endpoint. */
  readonly registry: {
    readonly owner: string | null
    readonly epoch: number
    readonly active: boolean
    readonly liveness: Liveness | null
  } | null
  /** Live nodes serving it now (from their status). */
  readonly serving: readonly Claim[]
  readonly standby: readonly string[]
  /** Disagreements; empty when the registry and the nodes agree. */
  readonly flags: readonly string[]
}

export interface FleetReport {
  readonly endpoints: readonly FleetLine[]
  /** Fleet-wide problems: nodes that did not answer, instances that name no node. */
  readonly problems: readonly string[]
  readonly agree: boolean
}

const claimText = (c: Claim) => `${c.nodeId} e${c.epoch}`

/** What is wrong with one endpoint, if anything. */
export const flagsOf = (line: Omit<FleetLine, 'flags'>): string[] => {
  const { registry: r, serving } = line
  const flags: string[] = []
  if (serving.length > 1)
    flags.push(`claimed by ${serving.length} nodes: ${serving.map(claimText).join(', ')}`)
  if (r === null) {
    for (const c of serving) flags.push(`${claimText(c)} serves it; the registry does not know it`)
    return flags
  }
  if (serving.length === 0) {
    if (r.active) flags.push(`registry: owner ${r.owner ?? '-'} epoch ${r.epoch}, but no live node serves it`)
    return flags
  }
  for (const c of serving) {
    if (!r.active) flags.push(`${claimText(c)} serves it; the registry has it released (epoch ${r.epoch})`)
    else if (c.nodeId !== r.owner)
      flags.push(`${claimText(c)} serves it; registry: owner ${r.owner ?? '-'} epoch ${r.epoch}`)
    else if (c.epoch !== r.epoch) flags.push(`${claimText(c)} serves it; registry has epoch ${r.epoch}`)
    const lease = r.liveness?.leaseNode ?? null
    if (lease !== null && lease !== c.nodeId)
      flags.push(`${c.nodeId} serves it; the lease is held by ${lease}`)
  }
  return flags
}

/** Lines for every endpoint either side knows, sorted by id. */
export const compareFleet = (registry: readonly EndpointSummary[], fleet: FleetNodes): FleetReport => {
  const serving = new Map<string, Claim[]>()
  const standby = new Map<string, string[]>()
  const add = <V>(m: Map<string, V[]>, k: string, v: V) => m.set(k, [...(m.get(k) ?? []), v])
  for (const n of fleet.nodes) {
    for (const e of n.status?.endpoints ?? [])
      add(serving, e.endpointId, { nodeId: n.nodeId, epoch: e.epoch })
    for (const id of n.status?.standbyFor ?? []) add(standby, id, n.nodeId)
  }
  const byId = new Map<string, EndpointSummary>(registry.map((e) => [e.endpointId, e]))
  const ids = [...new Set([...byId.keys(), ...serving.keys(), ...standby.keys()])].sort()
  const endpoints = ids.map((endpointId): FleetLine => {
    const r = byId.get(endpointId)
    const base = {
      endpointId,
      registry:
        r === undefined
          ? null
          : { owner: r.owner, epoch: r.epoch, active: r.active, liveness: r.liveness ?? null },
      serving: serving.get(endpointId) ?? [],
      standby: standby.get(endpointId) ?? [],
    }
    return { ...base, flags: flagsOf(base) }
  })
  const problems = [
    ...fleet.missing.map((m) => `node ${m.nodeId} did not answer status: ${m.reason}`),
    ...fleet.unattributed.map((id) => `service instance ${id} names no node`),
  ]
  return { endpoints, problems, agree: problems.length === 0 && endpoints.every((l) => l.flags.length === 0) }
}

// --- text --------------------------------------------------------------------------------

/**
 * The STATE column of `l2tpctl endpoints`: consistency, then the owner's liveness. A reply with
 * no liveness (a registry that does not watch the leases) claims nothing: never `ok`.
 */
export const stateText = (e: EndpointSummary): string => {
  const live = e.liveness === undefined || e.liveness === null ? 'liveness unknown' : livenessText(e.liveness)
  return e.consistent ? live : `INCONSISTENT, ${live}`
}

const duration = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** Columns as wide as their widest cell plus two spaces; the last one is not padded. */
export const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)) + 2)
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('')
      .trimEnd()
  return [line(header), ...rows.map(line)]
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)

const nodeCells = (n: NodeRow, now: number): string[] => {
  const version = n.versions.join(',') || '-'
  const st = n.status
  if (st === null)
    return [
      n.nodeId,
      version,
      n.startedAt === null ? '-' : duration(now - n.startedAt),
      `(no status: ${n.problem ?? 'unknown'})`,
    ]
  const outbox = st.endpoints.flatMap((e) => (e.outboxPending == null ? [] : [e.outboxPending]))
  return [
    n.nodeId,
    version,
    duration(st.uptimeMs),
    st.endpoints.map((e) => `${e.endpointId} e${e.epoch}`).join(', ') || '-',
    st.standbyFor.join(', ') || '-',
    String(sum(st.endpoints.map((e) => e.tunnels))),
    String(sum(st.endpoints.map((e) => e.sessions))),
    outbox.length === 0 ? '-' : String(sum(outbox)),
  ]
}

export const nodesText = (f: FleetNodes, now: number): string =>
  [
    ...table(
      ['NODE', 'VERSION', 'UP', 'SERVES (EPOCH)', 'STANDBY FOR', 'TUNNELS', 'SESSIONS', 'OUTBOX'],
      f.nodes.map((n) => nodeCells(n, now)),
    ),
    ...f.unattributed.map((id) => `(service instance ${id} names no node)`),
  ].join('\n')

const registryText = (r: FleetLine['registry']): string =>
  r === null ? '(unknown)' : r.active ? `${r.owner ?? '-'} e${r.epoch}` : `released e${r.epoch}`

export const fleetText = (rep: FleetReport): string =>
  [
    ...table(
      ['ENDPOINT', 'REGISTRY', 'LIVE', 'STANDBY', 'STATE', 'AGREE'],
      rep.endpoints.map((l) => [
        l.endpointId,
        registryText(l.registry),
        l.serving.map(claimText).join(', ') || '-',
        l.standby.join(', ') || '-',
        l.registry?.liveness == null ? '-' : livenessText(l.registry.liveness),
        l.flags.length === 0 ? 'yes' : `NO: ${l.flags.join('; ')}`,
      ]),
    ),
    ...rep.problems.map((p) => `! ${p}`),
  ].join('\n')
