// Snapshot store on l2tp.snapshots (compacted): load the latest snapshot of every endpoint and
// the partition checkpoints; write snapshots of dirty endpoints, then the partition checkpoint.
// A failed write leaves its endpoints dirty for the next interval; a log whose start was cut by
// retention without a snapshot covering it is reported as a gap, never replayed partially.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import { CompressionTypes, type Producer } from 'kafkajs'
import { checkpointKey, groupToken, type Offset, PartitionCheckpoint, unsafe } from '../../contracts/index.js'
import {
  decodeSnapshot,
  type EndpointTable,
  encodeSnapshotBinary,
  type Fleet,
  type SnapshotOf,
} from '../domain/index.js'
import { messageOf } from './errors.js'
import { type EventLogDeps, partitionFor } from './event-log.js'
import { compareOffsets, type PartitionOffsets, partitionOffsets, readPartition } from './partition-reader.js'
import { SNAPSHOT_MAX_BYTES } from './topics.js'

/** A partition of l2tp.events whose start (cut by retention) no snapshot covers. */
export interface SnapshotGap {
  readonly partition: number
  readonly detail: string
}

export interface LoadedSnapshots {
  readonly fleet: Fleet
  /** l2tp.events partition -> offset to resume from. */
  readonly startOffsets: Map<number, Offset>
  readonly snapshots: number
  readonly undecodable: number
  readonly gaps: readonly SnapshotGap[]
}

const parseCheckpoint = (value: Buffer): PartitionCheckpoint | null => {
  const json = J.parse(value.toString('utf8'))
  const c = E.isRight(json) ? PartitionCheckpoint.decode(json.right) : null
  return c !== null && E.isRight(c) ? c.right : null
}

const offsetsOf = async (deps: EventLogDeps, topic: string): Promise<PartitionOffsets[]> => {
  const offsets = await partitionOffsets(deps, topic)()
  if (E.isLeft(offsets)) throw new Error(offsets.left.detail)
  return offsets.right
}

/** The last value of each key of one snapshots partition that `want` accepts. */
const lastValues = async (deps: EventLogDeps, p: PartitionOffsets, want: (key: string) => boolean) => {
  const last = new Map<string, Buffer>()
  if (compareOffsets(p.low, p.high) >= 0) return last
  const r = await readPartition(
    deps,
    { topic: deps.names.snapshots, partition: p.partition, from: p.low, to: p.high },
    (records) => {
      for (const rec of records)
        if (rec.key !== null && rec.value !== null && want(rec.key)) last.set(rec.key, rec.value)
    },
  )()
  if (E.isLeft(r)) throw new Error(r.left.detail)
  return last
}

/** Partitions whose log starts after 0 and whose checkpoint or snapshots do not cover that start. */
export const snapshotGaps = (
  events: readonly PartitionOffsets[],
  startOffsets: ReadonlyMap<number, Offset>,
  undecodableIn: ReadonlyMap<number, number>,
  topic: string,
): SnapshotGap[] =>
  events.flatMap((p) => {
    if (p.low === '0') return []
    const log = `${topic}/${p.partition} starts at offset ${p.low} (retention)`
    const c = startOffsets.get(p.partition)
    const bad = undecodableIn.get(p.partition) ?? 0
    const detail =
      c === undefined
        ? `${log} and no snapshot checkpoint covers it`
        : compareOffsets(c, p.low) < 0
          ? `${log} but its snapshot checkpoint ends at ${c}`
          : bad > 0
            ? `${log} and ${bad} snapshot(s) of its endpoints are undecodable`
            : null
    return detail === null ? [] : [{ partition: p.partition, detail }]
  })

/** Snapshot partitions read at once while restoring. */
const SNAPSHOT_READS = 4

/**
 * Reads the snapshots topic and keeps the last value of each key; decodes only the snapshots of
 * endpoints of the l2tp.events partitions `wanted` accepts (default: all), the ones being restored.
 */
export const loadSnapshots = async (
  deps: EventLogDeps,
  wanted: (partition: number) => boolean = () => true,
): Promise<LoadedSnapshots> => {
  const events = await offsetsOf(deps, deps.names.events)
  const partitionOfKey = (key: string): number => partitionFor(key, events.length)
  const want = (key: string) =>
    key.startsWith('__partition-') ? wanted(Number(key.slice(12))) : wanted(partitionOfKey(key))
  // The partitions are read a few at a time (each read is a consumer of its own: joins overlap).
  const last = new Map<string, Buffer>()
  const parts = await offsetsOf(deps, deps.names.snapshots)
  for (let i = 0; i < parts.length; i += SNAPSHOT_READS)
    for (const m of await Promise.all(
      parts.slice(i, i + SNAPSHOT_READS).map((p) => lastValues(deps, p, want)),
    ))
      for (const [k, v] of m) last.set(k, v)
  const fleet: Fleet = new Map()
  const startOffsets = new Map<number, Offset>()
  const undecodableIn = new Map<number, number>()
  let undecodable = 0
  for (const [key, value] of last) {
    last.delete(key) // each record's bytes go as soon as it is read
    if (key.startsWith('__partition-')) {
      const c = parseCheckpoint(value)
      if (c !== null) startOffsets.set(c.partition, c.nextOffset)
      else undecodable++
      continue
    }
    const s = decodeSnapshot(value)
    if (E.isRight(s)) fleet.set(key, s.right.table)
    else {
      undecodable++
      const p = partitionOfKey(key)
      undecodableIn.set(p, (undecodableIn.get(p) ?? 0) + 1)
    }
  }
  const gaps = snapshotGaps(
    events.filter((p) => wanted(p.partition)),
    startOffsets,
    undecodableIn,
    deps.names.events,
  )
  return { fleet, startOffsets, snapshots: fleet.size, undecodable, gaps }
}

/** Uncompressed bytes per produce request: well under the broker's request limit (100 MiB). */
const SEND_BYTES = 16 * 1024 * 1024

/** Writes snapshots of the given tables, then the checkpoint of their partition. */
export const writeSnapshots = async (
  producer: Pick<Producer, 'send'>,
  deps: EventLogDeps,
  partition: number,
  nextOffset: Offset,
  tables: readonly EndpointTable[],
): Promise<void> => {
  // Encoded now, in one go: the tables keep changing while the sends are awaited.
  const messages = tables.map((t) => ({
    key: t.endpointId,
    value: encodeSnapshotBinary({ table: t, partition, nextOffset }),
  }))
  const tooBig = messages.find((m) => m.value.length > SNAPSHOT_MAX_BYTES)
  if (tooBig !== undefined)
    throw new Error(
      `snapshot of ${tooBig.key} is ${tooBig.value.length} bytes, over the ${SNAPSHOT_MAX_BYTES} of ${deps.names.snapshots}`,
    )
  let batch: typeof messages = []
  let bytes = 0
  const flush = async () => {
    if (batch.length === 0) return
    await producer.send({ topic: deps.names.snapshots, compression: CompressionTypes.GZIP, messages: batch })
    batch = []
    bytes = 0
  }
  for (const m of messages) {
    if (bytes + m.value.length > SEND_BYTES) await flush()
    batch.push(m)
    bytes += m.value.length
  }
  await flush()
  const checkpoint: PartitionCheckpoint = {
    type: 'PartitionCheckpoint',
    v: 1,
    partition,
    nextOffset,
    at: unsafe.millis(Date.now()),
  }
  await producer.send({
    topic: deps.names.snapshots,
    messages: [{ key: checkpointKey(partition), value: JSON.stringify(checkpoint) }],
  })
}

/**
 * The snapshot writer of one l2tp.events partition for one registry group: one transactional
 * producer per partition (transactional id `l2tp-registry-snapshots.<group>.<topic>.<partition>`).
 * Opening it (InitProducerId) fences every older writer of the partition, so a revoked instance
 * can never commit a snapshot after the new owner opened its own, and the new owner reads the
 * snapshots only after that. Snapshots and checkpoint go in one transaction, and a write never
 * goes back before the highest checkpoint this writer wrote or restored (`floor`).
 */
export interface SnapshotWriter {
  readonly partition: number
  /** Writes the tables and the checkpoint, or refuses (Fenced: the writer is done). */
  readonly write: (nextOffset: Offset, tables: readonly EndpointTable[]) => Promise<'written' | 'behind'>
  readonly close: () => Promise<void>
}

export const snapshotTransactionalId = (groupId: string, snapshotsTopic: string, partition: number): string =>
  `l2tp-registry-snapshots.${groupToken(groupId)}.${snapshotsTopic}.${partition}`

export const openSnapshotWriter = async (
  deps: EventLogDeps,
  groupId: string,
  partition: number,
): Promise<SnapshotWriter> => {
  const producer = deps.kafka.producer({
    transactionalId: snapshotTransactionalId(groupId, deps.names.snapshots, partition),
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  // InitProducerId runs at the first transaction: run it now, so that opening fences the old owner.
  const init = await producer.transaction()
  await init.abort()
  let floor: Offset | null = null
  const write: SnapshotWriter['write'] = async (nextOffset, tables) => {
    if (floor !== null && compareOffsets(nextOffset, floor) < 0) return 'behind'
    const tx = await producer.transaction()
    try {
      await writeSnapshots(tx, deps, partition, nextOffset, tables)
      await tx.commit()
    } catch (e) {
      await tx.abort().catch(() => undefined)
      throw e
    }
    floor = nextOffset
    return 'written'
  }
  return { partition, write, close: () => producer.disconnect() }
}

/** The last value of one key: reads only the snapshots partition that holds it. */
const latestOf = async (deps: EventLogDeps, key: string): Promise<Buffer | null> => {
  const offsets = await offsetsOf(deps, deps.names.snapshots)
  const p = offsets.find((o) => o.partition === partitionFor(key, offsets.length))
  if (p === undefined) return null
  return (await lastValues(deps, p, (k) => k === key)).get(key) ?? null
}

/** The latest snapshot of one endpoint, null when it has none; throws when it is unreadable. */
export const loadEndpointSnapshot = async (
  deps: EventLogDeps,
  endpointId: string,
): Promise<SnapshotOf | null> => {
  const last = await latestOf(deps, endpointId)
  if (last === null) return null
  const s = decodeSnapshot(last)
  if (E.isLeft(s)) throw new Error(`undecodable snapshot of ${endpointId} on ${deps.names.snapshots}`)
  return s.right
}

/** The next offset of a partition's checkpoint, null when there is none or it is unreadable. */
export const loadPartitionCheckpoint = async (
  deps: EventLogDeps,
  partition: number,
): Promise<Offset | null> => {
  const last = await latestOf(deps, checkpointKey(partition))
  return last === null ? null : (parseCheckpoint(last)?.nextOffset ?? null)
}

/** Endpoints with events since their last snapshot, per l2tp.events partition. */
export class DirtySet {
  private readonly byPartition = new Map<number, Set<string>>()

  add(partition: number, endpointId: string): void {
    let set = this.byPartition.get(partition)
    if (set === undefined) {
      set = new Set()
      this.byPartition.set(partition, set)
    }
    set.add(endpointId)
  }

  /** Takes a partition's endpoints for a write (the set starts afresh). */
  take(partition: number): ReadonlySet<string> {
    const set = this.byPartition.get(partition) ?? new Set<string>()
    this.byPartition.delete(partition)
    return set
  }

  /** Gives back endpoints whose write failed: they stay dirty for the next interval. */
  giveBack(partition: number, ids: Iterable<string>): void {
    for (const id of ids) this.add(partition, id)
  }

  /** Forgets a partition (revoked: its tables are no longer folded here). */
  drop(partition: number): void {
    this.byPartition.delete(partition)
  }

  partitions(): number[] {
    return [...this.byPartition.keys()]
  }

  size(partition: number): number {
    return this.byPartition.get(partition)?.size ?? 0
  }
}

export interface SnapshotRun {
  readonly written: number
  readonly failures: readonly { readonly partition: number; readonly detail: string }[]
}

/**
 * Snapshots every dirty endpoint, partition by partition. A partition whose write fails keeps
 * its endpoints dirty (retried at the next interval); the others are written all the same.
 */
export const flushDirty = async (
  dirty: DirtySet,
  source: { readonly fleet: Fleet; readonly positions: ReadonlyMap<number, Offset> },
  write: (partition: number, nextOffset: Offset, tables: readonly EndpointTable[]) => Promise<void>,
  /** Partitions that may be written now (held and restored); the others stay dirty. */
  ready: (partition: number) => boolean = () => true,
): Promise<SnapshotRun> => {
  let written = 0
  const failures: { partition: number; detail: string }[] = []
  for (const partition of dirty.partitions()) {
    const nextOffset = source.positions.get(partition)
    if (nextOffset === undefined || dirty.size(partition) === 0 || !ready(partition)) continue
    const ids = dirty.take(partition)
    const tables = [...ids]
      .map((id) => source.fleet.get(id))
      .filter((t): t is EndpointTable => t !== undefined)
    try {
      await write(partition, nextOffset, tables)
      written += tables.length
    } catch (e) {
      dirty.giveBack(partition, ids)
      failures.push({ partition, detail: messageOf(e).split('\n')[0] ?? '' })
    }
  }
  return { written, failures }
}
