// Reads an offset range of one partition, read committed, with a throwaway consumer group
// (kafkajs has no manual assignment). The end is found from batch instrumentation, which also
// counts transaction markers, so a range ending in a commit marker finishes.
import { randomUUID } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { Offset } from '../../contracts/index.js'
import { unsafe } from '../../contracts/index.js'
import { type InfraError, kafkaError, messageOf, withRetry } from './errors.js'
import type { EventLogDeps } from './event-log.js'

export interface RawRecord {
  readonly partition: number
  readonly offset: Offset
  readonly key: string | null
  readonly value: Buffer | null
  /** Broker/producer timestamp, ms. */
  readonly timestamp: number
}

export interface PartitionOffsets {
  readonly partition: number
  readonly low: Offset
  /** Read committed: the last stable offset (first offset not yet readable). */
  readonly high: Offset
}

/** Compares two decimal offsets without turning them into numbers. */
export const compareOffsets = (a: string, b: string): number =>
  a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0

export const nextOf = (o: string): Offset => unsafe.offset((BigInt(o) + 1n).toString())

export const partitionOffsets = (
  deps: EventLogDeps,
  topic: string,
): TE.TaskEither<InfraError, PartitionOffsets[]> =>
  TE.tryCatch(
    async () => {
      const admin = deps.kafka.admin()
      await admin.connect()
      try {
        const rows = await withRetry(() => admin.fetchTopicOffsets(topic))
        return rows
          .map((r) => ({ partition: r.partition, low: unsafe.offset(r.low), high: unsafe.offset(r.high) }))
          .sort((a, b) => a.partition - b.partition)
      } finally {
        await admin.disconnect()
      }
    },
    kafkaError('partitionOffsets', null),
  )

export interface ReadRange {
  readonly topic: string
  readonly partition: number
  readonly from: Offset
  /** Exclusive end; defaults to the partition's committed end when the read starts. */
  readonly to?: Offset | undefined
  /** Give up when the end is not reached in this time (an open transaction can hold it back). */
  readonly timeoutMs?: number
  /** Bytes fetched per request (default 16 MiB): forensics read with less to bound their memory. */
  readonly fetchBytes?: number | undefined
}

/** What a batch callback may return: `'stop'` ends the read after this batch (anything else goes on). */
export type BatchVerdict = 'stop' | undefined

export interface ReadDone {
  readonly nextOffset: Offset
  readonly records: number
}

export const readPartition =
  (
    deps: EventLogDeps,
    range: ReadRange,
    onBatch: (records: readonly RawRecord[]) => unknown,
  ): TE.TaskEither<InfraError, ReadDone> =>
  async () => {
    let to = range.to
    if (to === undefined) {
      const offsets = await partitionOffsets(deps, range.topic)()
      if (E.isLeft(offsets)) return offsets
      const p = offsets.right.find((o) => o.partition === range.partition)
      if (p === undefined)
        return E.left({ _tag: 'KafkaFailed', op: 'readPartition', detail: `no partition ${range.partition}` })
      to = p.high
    }
    if (compareOffsets(range.from, to) >= 0) return E.right({ nextOffset: range.from, records: 0 })
    return TE.tryCatch(() => readUntil(deps, range, to, onBatch), kafkaError('readPartition', null))()
  }

const readUntil = async (
  deps: EventLogDeps,
  range: ReadRange,
  to: Offset,
  onBatch: (records: readonly RawRecord[]) => unknown,
): Promise<ReadDone> => {
  const { topic, partition } = range
  const consumer = deps.kafka.consumer({
    groupId: `l2tp-reader-${randomUUID()}`,
    readUncommitted: false,
    maxBytesPerPartition: range.fetchBytes ?? 16 * 1024 * 1024,
    maxBytes: range.fetchBytes ?? 64 * 1024 * 1024,
    maxWaitTimeInMs: 100,
  })
  let records = 0
  let stoppedAt: Offset | null = null
  let finish: (() => void) | undefined
  let fail: ((e: Error) => void) | undefined
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  const last = BigInt(to) - 1n
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic || payload.partition !== partition) return
    if (BigInt(payload.lastOffset) >= last) finish?.()
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => fail?.(new Error(messageOf(payload.error))))
  const timer = setTimeout(
    () =>
      fail?.(new Error(`end offset ${to} of ${topic}/${partition} not reached in time (open transaction?)`)),
    range.timeoutMs ?? 60_000,
  )
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: false })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition || stoppedAt !== null) return
        const out: RawRecord[] = []
        for (const m of batch.messages) {
          if (compareOffsets(m.offset, to) >= 0) break
          out.push({
            partition,
            offset: unsafe.offset(m.offset),
            key: m.key === null ? null : m.key.toString('utf8'),
            value: m.value,
            timestamp: Number(m.timestamp),
          })
        }
        if (out.length > 0) {
          records += out.length
          const last = out[out.length - 1]
          if (onBatch(out) === 'stop' && last !== undefined) {
            stoppedAt = nextOf(last.offset)
            finish?.()
          }
        }
      },
    })
    consumer.seek({ topic, partition, offset: range.from })
    await done
    // Every record before `to` was seen (transaction markers included): resume at `to`.
    return { nextOffset: stoppedAt ?? to, records }
  } finally {
    clearTimeout(timer)
    await consumer.disconnect().catch(() => undefined)
  }
}
