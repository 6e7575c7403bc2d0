// Live fold of l2tp.events in a consumer group: decode at the edge, evolve the fleet, and send
// what does not decode to l2tp.events.dead with partition, offset and reason, then go on.
import type { Consumer, Producer } from 'kafkajs'
import {
  type DeadLetter,
  describeContractError,
  type L2tpEvent,
  type Offset,
  parseEvent,
  unsafe,
} from '../../contracts/index.js'
import { evolveFleet, type Fleet, type Verdict } from '../domain/index.js'
import { sendDeadLetters } from './dead-letters.js'
import type { EventLogDeps } from './event-log.js'
import { nextOf } from './partition-reader.js'

export interface FolderStats {
  events: number
  deadLetters: number
  readonly verdicts: Record<Verdict, number>
}

export interface EventFolder {
  readonly fleet: Fleet
  readonly stats: FolderStats
  /** Next offset to read, per partition, after the last batch folded. */
  readonly positions: Map<number, Offset>
  readonly stop: () => Promise<void>
}

export interface FolderOptions {
  readonly groupId: string
  readonly fromBeginning: boolean
  /** Called after each applied event (the registry service hangs snapshots and metrics here). */
  readonly onEvent?: (e: L2tpEvent, partition: number, offset: Offset, verdict: Verdict) => void
  readonly onDeadLetter?: (d: DeadLetter) => void
  /** Start from these tables (loaded from snapshots) instead of empty ones. */
  readonly fleet?: Fleet
  /** Where to start reading each partition (snapshot checkpoints); others follow fromBeginning. */
  readonly startOffsets?: ReadonlyMap<number, Offset>
  /** Partition-aware folding (the registry service): told of every assignment, folds only when told. */
  readonly assignment?: AssignmentHooks
}

/** What an assignment hook may do with this member's partitions of l2tp.events. */
export interface PartitionControl {
  readonly seek: (partition: number, offset: Offset) => void
  readonly pause: (partition: number) => void
  readonly resume: (partition: number) => void
}

export interface AssignmentHooks {
  /**
   * Called synchronously on every group join with this member's partitions, before any fetch of
   * the new generation (kafkajs has no revoke callback: a revoke is a partition no longer here).
   */
  readonly onJoin: (partitions: readonly number[], control: PartitionControl) => void
  /** Whether a batch of this partition may be folded now (false while restoring or once revoked). */
  readonly folds: (partition: number) => boolean
  /** After each batch (transaction markers included): the last offset it covered. */
  readonly onBatchEnd?: (partition: number, lastOffset: Offset) => void
}

/** Why a record is not a usable event, or null when it is. */
const checkRecord = (key: string | null, value: Buffer | null): { event: L2tpEvent } | { reason: string } => {
  if (value === null) return { reason: 'empty value (tombstone) on the events topic' }
  const r = parseEvent(value)
  if (r._tag === 'Left') return { reason: describeContractError(r.left) }
  if (key !== r.right.endpointId) {
    return { reason: `record key ${JSON.stringify(key)} differs from endpointId ${r.right.endpointId}` }
  }
  return { event: r.right }
}

export const startEventFolder = async (deps: EventLogDeps, o: FolderOptions): Promise<EventFolder> => {
  const fleet: Fleet = o.fleet ?? new Map()
  const stats: FolderStats = {
    events: 0,
    deadLetters: 0,
    verdicts: { applied: 0, gap: 0, duplicate: 0, stale: 0, foreign: 0 },
  }
  const positions = new Map<number, Offset>()
  const dlq: Producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  const consumer: Consumer = deps.kafka.consumer({
    groupId: o.groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
    maxBytesPerPartition: 16 * 1024 * 1024,
  })
  const topic = deps.names.events
  const control: PartitionControl = {
    seek: (partition, offset) => consumer.seek({ topic, partition, offset }),
    pause: (partition) => consumer.pause([{ topic, partitions: [partition] }]),
    resume: (partition) => consumer.resume([{ topic, partitions: [partition] }]),
  }
  // Seek the partitions this member is given to their checkpoints (snapshot + tail).
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const mine = payload.memberAssignment[topic] ?? []
    if (o.assignment !== undefined) return o.assignment.onJoin(mine, control)
    for (const p of mine) {
      const at = o.startOffsets?.get(p)
      if (at !== undefined) consumer.seek({ topic, partition: p, offset: at })
    }
  })
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic)
      o.assignment?.onBatchEnd?.(payload.partition, unsafe.offset(payload.lastOffset))
  })
  await dlq.connect()
  await consumer.connect()
  await consumer.subscribe({ topic: deps.names.events, fromBeginning: o.fromBeginning })
  await consumer.run({
    autoCommit: o.startOffsets === undefined && o.assignment === undefined,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      // Not ours (revoked) or not restored yet: the partition is re-sought before it folds.
      if (o.assignment !== undefined && !o.assignment.folds(batch.partition)) return
      const dead: DeadLetter[] = []
      for (const m of batch.messages) {
        const key = m.key === null ? null : m.key.toString('utf8')
        const offset = unsafe.offset(m.offset)
        const checked = checkRecord(key, m.value)
        if ('reason' in checked) {
          dead.push({
            type: 'DeadLetter',
            v: 1,
            topic: batch.topic,
            partition: batch.partition,
            offset,
            key,
            rawBase64: m.value === null ? null : m.value.toString('base64'),
            reason: checked.reason,
            at: unsafe.millis(Date.now()),
          })
          continue
        }
        const verdict = evolveFleet(fleet, checked.event)
        stats.events++
        stats.verdicts[verdict]++
        o.onEvent?.(checked.event, batch.partition, offset, verdict)
      }
      if (dead.length > 0) {
        // Written before the batch is resolved: a crash here re-reads the batch, never loses it.
        await sendDeadLetters(dlq, deps.names.dead, dead)
        stats.deadLetters += dead.length
        for (const d of dead) o.onDeadLetter?.(d)
      }
      const last = batch.messages[batch.messages.length - 1]
      if (last !== undefined) {
        resolveOffset(last.offset)
        positions.set(batch.partition, nextOf(last.offset))
      }
      await heartbeat()
    },
  })
  const stop = async () => {
    await consumer.disconnect()
    await dlq.disconnect()
  }
  return { fleet, stats, positions, stop }
}
