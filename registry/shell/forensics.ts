// Forensics over the log: state of an endpoint as of a time or offset, the timeline of a tunnel
// or session (operator commands included), export of a time range to NDJSON and its offline
// replay with no broker at all.
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
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
import { type Cut, type LoggedEvent, scanEndpoint, withinCut } from './history.js'
import { nextOf, partitionOffsets, readPartition } from './partition-reader.js'

/** Bytes a forensic read fetches at a time: ten of them at once stay within tens of MiB. */
export const FORENSICS_FETCH_BYTES = 1024 * 1024

/**
 * The table of one endpoint as of a cut, folded while its partition streams by (no event is
 * kept). The read ends at an offset cut; a time cut reads on to the end, because an event of
 * before the cut may be appended long after it (an outbox held back by a Kafka outage).
 */
export const stateAsOf =
  (deps: EventLogDeps, endpointId: string, cut: Cut): TE.TaskEither<InfraError, EndpointTable> =>
  async () => {
    let t = emptyTable(unsafe.endpointId(endpointId))
    const done = await scanEndpoint(
      deps,
      endpointId,
      {
        to: cut !== null && 'offset' in cut ? nextOf(cut.offset) : undefined,
        fetchBytes: FORENSICS_FETCH_BYTES,
      },
      (e) => {
        if (withinCut(cut, e)) t = evolve(t, e.event)
      },
    )()
    return E.isLeft(done) ? done : E.right(t)
  }

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

const onTimeline = (e: L2tpEvent, tunnelId: number, sessionId: number | null): boolean => {
  if (!touches(e, tunnelId, sessionId)) return false
  // A session's timeline shows its tunnel's set-up and end, and the session's own events.
  if (sessionId === null) return true
  const t = e.type
  return t !== 'SessionEstablished' && t !== 'SessionClosed'
    ? t === 'TunnelEstablished' ||
        t === 'TunnelClosed' ||
        t === 'CommandApplied' ||
        t === 'SessionsReconciled'
    : true
}

/**
 * Events about one tunnel (or one session of it), in log order, with their offsets (from `from`
 * on); only those are kept, and the read ends once `max` of them are found.
 */
export const timeline =
  (
    deps: EventLogDeps,
    endpointId: string,
    tunnelId: number,
    sessionId: number | null,
    from?: Offset,
    max = Number.POSITIVE_INFINITY,
  ): TE.TaskEither<InfraError, LoggedEvent[]> =>
  async () => {
    const found: LoggedEvent[] = []
    const done = await scanEndpoint(deps, endpointId, { from, fetchBytes: FORENSICS_FETCH_BYTES }, (e) => {
      if (found.length >= max || !onTimeline(e.event, tunnelId, sessionId)) return undefined
      found.push(e)
      return found.length >= max ? 'stop' : undefined
    })()
    return E.isLeft(done) ? done : E.right(found)
  }

/** Forensic reads at once by default (each holds a consumer and ~1 MiB of fetch). */
export const DEFAULT_FORENSICS_CONCURRENCY = 4

/** Too many forensic reads at once: the caller should retry shortly. */
export interface Busy {
  readonly running: number
}

/**
 * At most `limit` forensic reads at once; past it `run` answers Busy at once instead of
 * queueing (each read holds a consumer and a fetch buffer).
 */
export const forensicsGate = (limit: number) => {
  let running = 0
  return {
    get running() {
      return running
    },
    run: async <A>(read: () => Promise<A>): Promise<E.Either<Busy, A>> => {
      if (running >= limit) return E.left({ running })
      running++
      try {
        return E.right(await read())
      } finally {
        running--
      }
    },
  }
}

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
