// Creates the project's topics idempotently through the kafkajs admin API (DESIGN.md §3).
import {
  DEAD_MAX_MESSAGE_BYTES,
  EVENTS_MAX_MESSAGE_BYTES,
  EVENTS_PARTITIONS,
  EVENTS_RETENTION_MS,
  type TopicNames,
  topicNames,
} from '../../contracts/index.js'
import { type KafkaDeps, makeKafka } from './kafka-client.js'

/** Largest snapshot record accepted on l2tp.snapshots. */
export const SNAPSHOT_MAX_BYTES = 128 * 1024 * 1024

export interface TopicOptions extends KafkaDeps {
  readonly names?: TopicNames
  readonly eventPartitions?: number
}

/** Creates l2tp.events, l2tp.snapshots and l2tp.events.dead if missing. Returns the names. */
export const ensureTopics = async (o: TopicOptions): Promise<TopicNames> => {
  const names = o.names ?? topicNames()
  const admin = makeKafka({ ...o, clientId: 'l2tp-topics' }).admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const wanted = [
      {
        topic: names.events,
        numPartitions: o.eventPartitions ?? EVENTS_PARTITIONS,
        configEntries: [
          { name: 'cleanup.policy', value: 'delete' },
          { name: 'retention.ms', value: String(EVENTS_RETENTION_MS) },
          // Set, not inherited from the broker: the node's outbox cuts its transactions under it.
          { name: 'max.message.bytes', value: String(EVENTS_MAX_MESSAGE_BYTES) },
        ],
      },
      {
        topic: names.snapshots,
        numPartitions: o.eventPartitions ?? EVENTS_PARTITIONS,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'min.compaction.lag.ms', value: '60000' },
          // A snapshot of an endpoint with 64,000 sessions is ~20 MB of JSON (~2 MB gzipped).
          { name: 'max.message.bytes', value: String(SNAPSHOT_MAX_BYTES) },
        ],
      },
      {
        topic: names.dead,
        numPartitions: 1,
        configEntries: [
          { name: 'retention.ms', value: String(EVENTS_RETENTION_MS) },
          // A dead letter holds the raw record in base64 (4/3 of a record of up to 1 MiB).
          { name: 'max.message.bytes', value: String(DEAD_MAX_MESSAGE_BYTES) },
        ],
      },
    ].filter((t) => !existing.has(t.topic))
    if (wanted.length > 0) {
      try {
        await admin.createTopics({ topics: wanted, waitForLeaders: true })
      } catch (e) {
        // Another process may have created them between list and create: that is fine.
        const now = new Set(await admin.listTopics())
        if (!wanted.every((t) => now.has(t.topic))) throw e
      }
    }
    return names
  } finally {
    await admin.disconnect()
  }
}
