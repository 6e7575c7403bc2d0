// Kafka topic names and their settings (DESIGN.md §3). Pure data.

export interface TopicNames {
  readonly events: string
  readonly snapshots: string
  readonly dead: string
}

/** The production names; tests pass a prefix so every suite gets topics of its own. */
export const topicNames = (prefix = ''): TopicNames => ({
  events: `${prefix}l2tp.events`,
  snapshots: `${prefix}l2tp.snapshots`,
  dead: `${prefix}l2tp.events.dead`,
})

export const EVENTS_PARTITIONS = 12
/** Events are kept by time (never compacted): 14 days. */
export const EVENTS_RETENTION_MS = 14 * 24 * 3600 * 1000

/**
 * Largest record batch on l2tp.events (its max.message.bytes, set explicitly): a node's outbox
 * cuts transactions at half of it (OutboxOptions.batchBytes), leaving room for batch overhead.
 */
export const EVENTS_MAX_MESSAGE_BYTES = 1024 * 1024
/** Largest record batch on l2tp.events.dead: a dead letter carries an event's raw bytes in base64. */
export const DEAD_MAX_MESSAGE_BYTES = 8 * 1024 * 1024

/** The transactional id of an endpoint's producer: a new owner fences the old one (DESIGN.md §3). */
export const transactionalIdOf = (endpointId: string): string => `l2tp-endpoint-${endpointId}`
