// Sending dead letters to l2tp.events.dead in produce requests bounded by bytes (a batch of
// undecodable records may be large: each letter holds a record in base64), and a node's letter
// for an event too large for l2tp.events. Shell.
import type { Kafka, Producer } from 'kafkajs'
import {
  type AnyDeadLetter,
  DEAD_MAX_MESSAGE_BYTES,
  encodeEventBinary,
  type L2tpEvent,
  unsafe,
} from '../../contracts/index.js'
import type { EventLogDeps } from './event-log.js'

/** Bytes per produce request of dead letters: a quarter of the dead topic's record-batch limit. */
export const DEAD_BATCH_BYTES = DEAD_MAX_MESSAGE_BYTES / 4
/** A raw value kept in a letter at most this large (its base64 then fits one batch of the topic). */
export const DEAD_RAW_MAX_BYTES = 4 * 1024 * 1024

interface Encoded {
  readonly key: string | null
  readonly value: string
}

/** Cuts encoded letters into runs of at most `maxBytes` (a letter larger alone goes alone). */
export const batchesByBytes = <A extends { readonly value: string; readonly key: string | null }>(
  items: readonly A[],
  maxBytes: number,
): A[][] => {
  const out: A[][] = []
  let run: A[] = []
  let bytes = 0
  for (const it of items) {
    const b = Buffer.byteLength(it.value) + (it.key === null ? 0 : Buffer.byteLength(it.key)) + 32
    if (run.length > 0 && bytes + b > maxBytes) {
      out.push(run)
      run = []
      bytes = 0
    }
    run.push(it)
    bytes += b
  }
  if (run.length > 0) out.push(run)
  return out
}

/** Sends the letters in order, in produce requests of at most `maxBytes` each. */
export const sendDeadLetters = async (
  producer: Producer,
  topic: string,
  letters: readonly AnyDeadLetter[],
  maxBytes = DEAD_BATCH_BYTES,
): Promise<number> => {
  const encoded: Encoded[] = letters.map((d) => ({ key: d.key, value: JSON.stringify(d) }))
  const runs = batchesByBytes(encoded, maxBytes)
  for (const messages of runs) await producer.send({ topic, messages })
  return runs.length
}

const producers = new WeakMap<Kafka, Promise<Producer>>()

/** One idempotent producer per Kafka client for the node's dead letters, connected on first use. */
const producerOf = (kafka: Kafka): Promise<Producer> => {
  let p = producers.get(kafka)
  if (p === undefined) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    p = producer.connect().then(() => producer)
    p.catch(() => producers.delete(kafka))
    producers.set(kafka, p)
  }
  return p
}

/** A node's dead letter: an event no transaction of l2tp.events can carry. */
export const sendNodeDeadLetter = async (
  deps: EventLogDeps,
  e: L2tpEvent,
  bytes: number,
  reason: string,
): Promise<void> => {
  const raw = encodeEventBinary(e)
  const letter: AnyDeadLetter = {
    type: 'DeadLetter',
    v: 2,
    origin: 'node',
    topic: deps.names.events,
    partition: null,
    offset: null,
    key: e.endpointId,
    rawBase64: raw.byteLength <= DEAD_RAW_MAX_BYTES ? Buffer.from(raw).toString('base64') : null,
    reason: `${e.type} seq ${e.seq} epoch ${e.epoch} (${bytes} bytes): ${reason}${
      raw.byteLength > DEAD_RAW_MAX_BYTES ? '; raw value not kept (too large)' : ''
    }`,
    at: unsafe.millis(Date.now()),
  }
  await sendDeadLetters(await producerOf(deps.kafka), deps.names.dead, [letter])
}
