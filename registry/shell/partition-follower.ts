// Follows one partition of a topic from an offset, read committed, for as long as it runs (a hot
// standby keeps an endpoint's table warm with it), and tells when it has read up to an offset
// (transaction markers counted). A throwaway consumer group, the other partitions paused. Shell.
import { randomUUID } from 'node:crypto'
import type { Offset } from '../../contracts/index.js'
import { unsafe } from '../../contracts/index.js'
import type { EventLogDeps } from './event-log.js'
import { compareOffsets, nextOf, type RawRecord } from './partition-reader.js'

export interface PartitionFollower {
  /** The next offset to read: every record and marker before it was seen. */
  readonly position: () => Offset
  /** Resolves true once everything before `to` was read, false after `timeoutMs`. */
  readonly reach: (to: Offset, timeoutMs: number) => Promise<boolean>
  readonly stop: () => Promise<void>
}

export const followPartition = async (
  deps: EventLogDeps,
  topic: string,
  partition: number,
  from: Offset,
  onRecords: (records: readonly RawRecord[]) => void,
): Promise<PartitionFollower> => {
  const consumer = deps.kafka.consumer({
    groupId: `l2tp-follower-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 16 * 1024 * 1024,
  })
  let position = from
  const waiters = new Set<() => void>()
  const advance = (next: Offset) => {
    if (compareOffsets(next, position) <= 0) return
    position = next
    for (const w of waiters) w()
  }
  // Every join (the first, and any after a broker or coordinator change) puts the read back
  // where the fold is and pauses the partitions this follower does not want.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const others = (payload.memberAssignment[topic] ?? []).filter((p) => p !== partition)
    if (others.length > 0) consumer.pause([{ topic, partitions: others }])
    consumer.seek({ topic, partition, offset: position })
  })
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && payload.partition === partition) advance(nextOf(payload.lastOffset))
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: false })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (batch.partition !== partition) return
      const out: RawRecord[] = []
      for (const m of batch.messages) {
        if (compareOffsets(m.offset, position) < 0) continue
        out.push({
          partition,
          offset: unsafe.offset(m.offset),
          key: m.key === null ? null : m.key.toString('utf8'),
          value: m.value,
          timestamp: Number(m.timestamp),
        })
      }
      if (out.length > 0) onRecords(out)
    },
  })
  consumer.seek({ topic, partition, offset: from })
  const reach = (to: Offset, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (compareOffsets(position, to) < 0) return
        done(true)
      }
      const timer = setTimeout(() => done(false), timeoutMs)
      const done = (ok: boolean) => {
        clearTimeout(timer)
        waiters.delete(check)
        resolve(ok)
      }
      waiters.add(check)
      check()
    })
  return {
    position: () => position,
    reach,
    stop: () => consumer.disconnect().catch(() => undefined),
  }
}
