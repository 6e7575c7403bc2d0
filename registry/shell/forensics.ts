// Forensics over the log: state of an endpoint as of a time or offset, the timeline of a tunnel
// or session (operator commands included), export of a time range to NDJSON and its offline
// replay with no broker at all.
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type L2tpEvent, type Offset, parseEvent, unsafe } from '../../contracts/index.js'
import {
  decodeSnapshot,
  type EndpointTable,
  emptyTable,
  encodeSnapshot,
  evolve,
  type Fleet,
} from '../domain/index.js'
import type { InfraError } from './errors.js'
import type { EventLogDeps } from './event-log.js'
import { type Cut, foldHistory, type LoggedEvent, readEndpointHistory, withinCut } from './history.js'
import { partitionOffsets, readPartition } from './partition-reader.js'

export const stateAsOf = (
  deps: EventLogDeps,
  endpointId: string,
  cut: Cut,
): TE.TaskEither<InfraError, EndpointTable> =>
  TE.map((h: { events: readonly LoggedEvent[] }) => foldHistory(endpointId, h.events, cut))(
    readEndpointHistory(deps, endpointId),
  )

const touches = (e: L2tpEvent, tunnelId: number, sessionId: number | null): boolean => {
  const x = e as {
    localTunnelId?: number | null
    localSessionId?: number | null
    clearedSessionIds?: number[]
  }
  if (x.localTunnelId !== tunnelId) return false
  if (sessionId === null) return true
  return (
    x.localSessionId === sessionId ||
    x.localSessionId === undefined ||
    (x.clearedSessionIds ?? []).includes(sessionId)
  )
}

/** Every event about one tunnel (or one session of it), in log order, with its offset (from `from` on). */
export const timeline = (
  deps: EventLogDeps,
  endpointId: string,
  tunnelId: number,
  sessionId: number | null,
  from?: Offset,
): TE.TaskEither<InfraError, LoggedEvent[]> =>
  TE.map((h: { events: readonly LoggedEvent[] }) =>
    h.events.filter((e) => {
      if (!touches(e.event, tunnelId, sessionId)) return false
      // A session's timeline shows its tunnel's set-up and end, and the session's own events.
      if (sessionId === null) return true
      const t = e.event.type
      return t !== 'SessionEstablished' && t !== 'SessionClosed'
        ? t === 'TunnelEstablished' ||
            t === 'TunnelClosed' ||
            t === 'CommandApplied' ||
            t === 'SessionsReconciled'
        : true
    }),
  )(readEndpointHistory(deps, endpointId, from))

/** One NDJSON line of an export: a snapshot of an endpoint at the start of the range, or an event. */
export type ExportLine =
  | { readonly kind: 'snapshot'; readonly snapshot: unknown }
  | { readonly kind: 'event'; readonly partition: number; readonly offset: Offset; readonly event: L2tpEvent }

/**
 * Exports [from, to] (event time): each endpoint's state at `from` as a snapshot line, then every
 * event in the range. Replaying the file gives the state at any time in the range, offline.
 */
export const exportRange =
  (deps: EventLogDeps, from: number | null, to: number): TE.TaskEither<InfraError, ExportLine[]> =>
  async () => {
    const offsets = await partitionOffsets(deps, deps.names.events)()
    if (E.isLeft(offsets)) return offsets
    const before: Fleet = new Map()
    const lines: ExportLine[] = []
    for (const p of offsets.right) {
      const r = await readPartition(
        deps,
        { topic: deps.names.events, partition: p.partition, from: p.low, to: p.high },
        (records) => {
          for (const rec of records) {
            if (rec.value === null) continue
            const e = parseEvent(rec.value)
            if (E.isLeft(e) || e.right.endpointId !== rec.key) continue
            const ev = e.right
            if (from !== null && ev.at < from) {
              let t = before.get(ev.endpointId)
              if (t === undefined) {
                t = emptyTable(ev.endpointId)
                before.set(ev.endpointId, t)
              }
              evolve(t, ev)
            } else if (ev.at <= to)
              lines.push({ kind: 'event', partition: p.partition, offset: rec.offset, event: ev })
          }
        },
      )()
      if (E.isLeft(r)) return r
    }
    const snapshots: ExportLine[] = [...before.values()].map((t) => ({
      kind: 'snapshot',
      snapshot: JSON.parse(
        encodeSnapshot({ table: t, partition: 0, nextOffset: unsafe.offset('0') }),
      ) as unknown,
    }))
    return E.right([...snapshots, ...lines])
  }

export const toNdjson = (lines: readonly ExportLine[]): string =>
  lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length > 0 ? '\n' : '')

/** Replays an export offline (no broker): tables as of the cut (event time or offset), bad lines counted. */
export const replayNdjson = (text: string, cut: Cut = null): { fleet: Fleet; badLines: number } => {
  const fleet: Fleet = new Map()
  let badLines = 0
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue
    let line: { kind?: unknown; snapshot?: unknown; event?: unknown; partition?: unknown; offset?: unknown }
    try {
      line = JSON.parse(raw) as typeof line
    } catch {
      badLines++
      continue
    }
    if (line.kind === 'snapshot') {
      const s = decodeSnapshot(JSON.stringify(line.snapshot))
      if (E.isLeft(s)) badLines++
      else fleet.set(s.right.table.endpointId, s.right.table)
    } else if (line.kind === 'event') {
      const e = parseEvent(JSON.stringify(line.event))
      if (E.isLeft(e) || typeof line.offset !== 'string' || typeof line.partition !== 'number') {
        badLines++
        continue
      }
      const logged: LoggedEvent = {
        partition: line.partition,
        offset: unsafe.offset(line.offset),
        event: e.right,
      }
      if (!withinCut(cut, logged)) continue
      let t = fleet.get(e.right.endpointId)
      if (t === undefined) {
        t = emptyTable(e.right.endpointId)
        fleet.set(e.right.endpointId, t)
      }
      evolve(t, e.right)
    } else badLines++
  }
  return { fleet, badLines }
}
