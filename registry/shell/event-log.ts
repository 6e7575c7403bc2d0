// The event-log port over kafkajs (DESIGN.md §3): an endpoint's transactional writer (appends
// in order, fenced by a newer owner), partition-range reads and offsets, read committed.
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type Kafka, Partitioners, type Producer } from 'kafkajs'
import {
  encodeEventBinary,
  type L2tpEvent,
  type Offset,
  parseEvent,
  type TopicNames,
  transactionalIdOf,
  unsafe,
} from '../../contracts/index.js'
import { type InfraError, kafkaError, withRetry } from './errors.js'
import { partitionOffsets, readPartition } from './partition-reader.js'

export interface EventLogDeps {
  readonly kafka: Kafka
  readonly names: TopicNames
}

export interface Appended {
  readonly partition: number
  /** Offset of the first event of this append; the others follow in order (plus no gaps but markers). */
  readonly firstOffset: Offset
  readonly count: number
}

export interface EndpointWriter {
  readonly endpointId: string
  readonly partition: number
  /** Appends the events in one transaction, in order. Fenced is sticky: the writer is done. */
  readonly append: (events: readonly L2tpEvent[]) => TE.TaskEither<InfraError, Appended>
  /** Where this writer's appends can begin: the partition's committed end when it opened. */
  readonly openedAt: Offset
  /**
   * The highest seq among this endpoint's committed events of `epoch` at or after `from` (null:
   * none). An append that failed without being fenced may have committed anyway (a lost commit
   * response, a broker killed mid-commit): before resending, the outbox asks a freshly opened
   * writer (whose InitProducerId settled the old transaction, committed or aborted) what landed.
   */
  readonly committedSeqSince: (from: Offset, epoch: number) => TE.TaskEither<InfraError, number | null>
  readonly close: () => Promise<void>
}

const partitioner = Partitioners.DefaultPartitioner()

/** The partition of l2tp.events that holds an endpoint (Java-compatible murmur2 of the key). */
export const partitionFor = (endpointId: string, partitions: number): number =>
  partitioner({
    topic: 'l2tp.events',
    partitionMetadata: Array.from({ length: partitions }, (_, i) => ({
      partitionId: i,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
      partitionErrorCode: 0,
    })),
    message: { key: endpointId, value: null },
  })

export const partitionCount = (deps: EventLogDeps, topic: string): TE.TaskEither<InfraError, number> =>
  TE.tryCatch(
    async () => {
      const admin = deps.kafka.admin()
      await admin.connect()
      try {
        const md = await withRetry(() => admin.fetchTopicMetadata({ topics: [topic] }))
        return md.topics[0]?.partitions.length ?? 0
      } finally {
        await admin.disconnect()
      }
    },
    kafkaError('partitionCount', null),
  )

/**
 * Opens the endpoint's transactional producer. Connecting runs InitProducerId, which fences
 * any older producer with the same transactional id at the broker (DESIGN.md §3).
 */
export const openEndpointWriter = (
  deps: EventLogDeps,
  endpointId: string,
): TE.TaskEither<InfraError, EndpointWriter> => {
  const transactionalId = transactionalIdOf(endpointId)
  return TE.tryCatch(
    async () => {
      const partitions = await partitionCount(deps, deps.names.events)()
      if (E.isLeft(partitions)) throw new Error(partitions.left.detail)
      const partition = partitionFor(endpointId, partitions.right)
      const producer = deps.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      // kafkajs runs InitProducerId lazily at the first transaction: run it now, so that opening
      // the writer is what fences the previous owner (not its first append).
      const init = await producer.transaction()
      await init.abort()
      const offsets = await partitionOffsets(deps, deps.names.events)()
      if (E.isLeft(offsets)) {
        await producer.disconnect().catch(() => undefined)
        throw new Error(offsets.left.detail)
      }
      const openedAt = offsets.right.find((o) => o.partition === partition)?.high ?? unsafe.offset('0')
      return writer(deps, producer, endpointId, partition, transactionalId, openedAt)
    },
    kafkaError('openEndpointWriter', transactionalId),
  )
}

const writer = (
  deps: EventLogDeps,
  producer: Producer,
  endpointId: string,
  partition: number,
  transactionalId: string,
  openedAt: Offset,
): EndpointWriter => {
  let fenced: InfraError | null = null
  const toError = kafkaError('append', transactionalId)
  const append =
    (events: readonly L2tpEvent[]): TE.TaskEither<InfraError, Appended> =>
    async () => {
      if (fenced !== null) return E.left(fenced)
      const tx = await producer.transaction().catch((e: unknown) => toError(e))
      if ('_tag' in tx) return E.left(remember(tx))
      try {
        const meta = await tx.send({
          topic: deps.names.events,
          messages: events.map((e) => ({ key: endpointId, value: encodeEventBinary(e), partition })),
        })
        await tx.commit()
        const first = meta.find((m) => m.partition === partition)
        return E.right({
          partition,
          firstOffset: unsafe.offset(first?.baseOffset ?? '0'),
          count: events.length,
        })
      } catch (e) {
        await tx.abort().catch(() => undefined)
        return E.left(remember(toError(e)))
      }
    }
  const remember = (e: InfraError): InfraError => {
    if (e._tag === 'Fenced') fenced = e
    return e
  }
  const committedSeqSince =
    (from: Offset, epoch: number): TE.TaskEither<InfraError, number | null> =>
    async () => {
      let max: number | null = null
      const read = await readPartition(deps, { topic: deps.names.events, partition, from }, (records) => {
        for (const r of records) {
          if (r.key !== endpointId || r.value === null) continue
          const e = parseEvent(r.value)
          if (E.isRight(e) && e.right.epoch === epoch && (max === null || e.right.seq > max))
            max = e.right.seq
        }
      })()
      return E.isLeft(read) ? read : E.right(max)
    }
  return { endpointId, partition, openedAt, append, committedSeqSince, close: () => producer.disconnect() }
}
