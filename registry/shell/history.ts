// Reading an endpoint's history back from l2tp.events: its partition, filtered by key, decoded,
// optionally cut at a time or an offset. Used by rehydration, forensics and l2tpctl.
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type L2tpEvent, type Offset, parseEvent, unsafe } from '../../contracts/index.js'
import { type EndpointTable, emptyTable, evolve } from '../domain/index.js'
import { type InfraError, messageOf } from './errors.js'
import { type EventLogDeps, partitionCount, partitionFor } from './event-log.js'
import {
  type BatchVerdict,
  compareOffsets,
  type PartitionOffsets,
  partitionOffsets,
  readPartition,
} from './partition-reader.js'

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

/** Where an endpoint's events live: its partition and the partition's first offset. */
export const endpointPartition =
  (deps: EventLogDeps, endpointId: string): TE.TaskEither<InfraError, PartitionOffsets> =>
  async () => {
    const n = await partitionCount(deps, deps.names.events)()
    if (E.isLeft(n)) return n
    const partition = partitionFor(endpointId, n.right)
    const offsets = await partitionOffsets(deps, deps.names.events)()
    if (E.isLeft(offsets)) return offsets
    const p = offsets.right.find((o) => o.partition === partition)
    return E.right(p ?? { partition, low: unsafe.offset('0'), high: unsafe.offset('0') })
  }

export interface ScanOptions {
  /** First offset to read (default: the partition's start). */
  readonly from?: Offset | undefined
  /** Exclusive end (default: the committed end when the scan starts). */
  readonly to?: Offset | undefined
  readonly fetchBytes?: number | undefined
}

export interface Scanned {
  readonly partition: number
  readonly undecodable: number
  readonly nextOffset: Offset
}

/**
 * Streams one endpoint's decoded events to `onEvent`, in log order, keeping none of them;
 * `onEvent` returns 'stop' to end the scan (the rest of the batch is still delivered).
 */
export const scanEndpoint =
  (
    deps: EventLogDeps,
    endpointId: string,
    o: ScanOptions,
    onEvent: (e: LoggedEvent) => unknown,
  ): TE.TaskEither<InfraError, Scanned> =>
  async () => {
    const where = await endpointPartition(deps, endpointId)()
    if (E.isLeft(where)) return where
    const { partition, low, high } = where.right
    // Never past the committed end: the read would wait for offsets that do not exist yet.
    const to = o.to !== undefined && compareOffsets(o.to, high) < 0 ? o.to : high
    let undecodable = 0
    const done = await readPartition(
      deps,
      { topic: deps.names.events, partition, from: o.from ?? low, to, fetchBytes: o.fetchBytes },
      (records) => {
        let verdict: BatchVerdict
        for (const r of records) {
          if (r.key !== endpointId || r.value === null) continue
          const e = parseEvent(r.value)
          if (E.isLeft(e) || e.right.endpointId !== endpointId) undecodable++
          else if (onEvent({ partition, offset: r.offset, event: e.right }) === 'stop') verdict = 'stop'
        }
        return verdict
      },
    )()
    if (E.isLeft(done)) return done
    return E.right({ partition, undecodable, nextOffset: done.right.nextOffset })
  }

/** Reads one endpoint's events from `from` (default: the partition's start) to the committed end. */
export const readEndpointHistory = (
  deps: EventLogDeps,
  endpointId: string,
  from?: Offset,
): TE.TaskEither<InfraError, History> => {
  const events: LoggedEvent[] = []
  return TE.map((s: Scanned) => ({ ...s, events }))(
    scanEndpoint(deps, endpointId, { from }, (e) => {
      events.push(e)
    }),
  )
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

type SnapshotLoader = (
  deps: EventLogDeps,
  endpointId: string,
) => Promise<{ table: EndpointTable; nextOffset: Offset } | null>

/** The partition checkpoint's next offset, or null when there is none. */
type CheckpointLoader = (deps: EventLogDeps, partition: number) => Promise<Offset | null>

const gap = (partition: number, detail: string): InfraError => ({ _tag: 'SnapshotGap', partition, detail })

/**
 * Rehydrates one endpoint: its latest snapshot (if any) plus the tail of its partition from the
 * snapshot's offset; with no snapshot, a replay from the start of the partition. Once retention
 * has cut the partition's start (low watermark > 0), a missing, unreadable or too old snapshot
 * is a `SnapshotGap` (a replay would silently miss the endpoint's older tunnels), unless the
 * partition checkpoint says the endpoint had no events before the log's start.
 */
export const rehydrateEndpoint =
  (
    deps: EventLogDeps,
    endpointId: string,
    loadSnapshot: SnapshotLoader,
    loadCheckpoint: CheckpointLoader = async () => null,
  ): TE.TaskEither<
    InfraError,
    { table: EndpointTable; fromSnapshot: boolean; tailEvents: number; partition: number; nextOffset: Offset }
  > =>
  async () => {
    const where = await endpointPartition(deps, endpointId)()
    if (E.isLeft(where)) return where
    const { partition, low } = where.right
    const loaded = await loadSnapshot(deps, endpointId).then(
      (s) => E.right(s),
      (e: unknown) => E.left(messageOf(e)),
    )
    const log = `${deps.names.events}/${partition} starts at offset ${low}`
    if (low !== '0') {
      if (E.isLeft(loaded))
        return E.left(gap(partition, `snapshot of ${endpointId} unreadable (${loaded.left}) and ${log}`))
      const s = loaded.right
      if (s !== null && compareOffsets(s.nextOffset, low) < 0)
        return E.left(gap(partition, `snapshot of ${endpointId} ends at offset ${s.nextOffset} but ${log}`))
      if (s === null) {
        const c = await loadCheckpoint(deps, partition).catch(() => null)
        if (c === null || compareOffsets(c, low) < 0)
          return E.left(gap(partition, `no snapshot of ${endpointId} and ${log}`))
      }
    }
    const snap = E.isRight(loaded) ? loaded.right : null
    const h = await readEndpointHistory(deps, endpointId, snap?.nextOffset ?? low)()
    if (E.isLeft(h)) return h
    return E.right({
      table: foldHistory(endpointId, h.right.events, null, snap?.table),
      fromSnapshot: snap !== null,
      tailEvents: h.right.events.length,
      partition,
      nextOffset: h.right.nextOffset,
    })
  }
