// Reading an endpoint's history back from l2tp.events: its partition, filtered by key, decoded,
// optionally cut at a time or an offset. Used by rehydration, forensics and l2tpctl.
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { type L2tpEvent, type Offset, parseEvent, unsafe } from '../../contracts/index.js'
import { type EndpointTable, emptyTable, evolve } from '../domain/index.js'
import type { InfraError } from './errors.js'
import { type EventLogDeps, partitionCount, partitionFor } from './event-log.js'
import { compareOffsets, partitionOffsets, readPartition } from './partition-reader.js'

export interface LoggedEvent {
  readonly partition: number
  readonly offset: Offset
  readonly event: L2tpEvent
}

/** A cut of history: everything up to a wall-clock time (event `at`) or up to an offset (inclusive). */
export type Cut = { readonly at: number } | { readonly offset: Offset } | null

export const withinCut = (cut: Cut, e: LoggedEvent): boolean =>
  cut === null ? true : 'at' in cut ? e.event.at <= cut.at : compareOffsets(e.offset, cut.offset) <= 0

export interface History {
  readonly partition: number
  readonly events: readonly LoggedEvent[]
  /** Undecodable records of this endpoint met on the way (they are also in the dead-letter topic). */
  readonly undecodable: number
  readonly nextOffset: Offset
}

/** Reads one endpoint's events from `from` (default: the partition's start) to the committed end. */
export const readEndpointHistory =
  (deps: EventLogDeps, endpointId: string, from?: Offset): TE.TaskEither<InfraError, History> =>
  async () => {
    const n = await partitionCount(deps, deps.names.events)()
    if (E.isLeft(n)) return n
    const partition = partitionFor(endpointId, n.right)
    const offsets = await partitionOffsets(deps, deps.names.events)()
    if (E.isLeft(offsets)) return offsets
    const low = offsets.right.find((o) => o.partition === partition)?.low ?? unsafe.offset('0')
    const events: LoggedEvent[] = []
    let undecodable = 0
    const done = await readPartition(
      deps,
      { topic: deps.names.events, partition, from: from ?? low },
      (records) => {
        for (const r of records) {
          if (r.key !== endpointId || r.value === null) continue
          const e = parseEvent(r.value)
          if (E.isLeft(e) || e.right.endpointId !== endpointId) undecodable++
          else events.push({ partition, offset: r.offset, event: e.right })
        }
      },
    )()
    if (E.isLeft(done)) return done
    return E.right({ partition, events, undecodable, nextOffset: done.right.nextOffset })
  }

/** Folds history (optionally onto a snapshot's table) up to a cut. */
export const foldHistory = (
  endpointId: string,
  events: readonly LoggedEvent[],
  cut: Cut = null,
  from?: EndpointTable,
): EndpointTable => {
  let t = from ?? emptyTable(unsafe.endpointId(endpointId))
  for (const e of events) if (withinCut(cut, e)) t = evolve(t, e.event)
  return t
}

/**
 * Rehydrates one endpoint: its latest snapshot (if any) plus the tail of its partition from the
 * snapshot's offset; with no snapshot, a replay from the start of the partition.
 */
export const rehydrateEndpoint =
  (
    deps: EventLogDeps,
    endpointId: string,
    loadSnapshot: (
      deps: EventLogDeps,
      endpointId: string,
    ) => Promise<{ table: EndpointTable; nextOffset: Offset } | null>,
  ): TE.TaskEither<InfraError, { table: EndpointTable; fromSnapshot: boolean; tailEvents: number }> =>
  async () => {
    const snap = await loadSnapshot(deps, endpointId).catch(() => null)
    const h = await readEndpointHistory(deps, endpointId, snap?.nextOffset)()
    if (E.isLeft(h)) return h
    return E.right({
      table: foldHistory(endpointId, h.right.events, null, snap?.table),
      fromSnapshot: snap !== null,
      tailEvents: h.right.events.length,
    })
  }
