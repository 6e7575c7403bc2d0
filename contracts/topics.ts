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

/** The transactional id of an endpoint's producer: a new owner fences the old one (DESIGN.md §3). */
export const transactionalIdOf = (endpointId: string): string => `l2tp-endpoint-${endpointId}`
