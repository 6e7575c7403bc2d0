// replay: fold ~1,000,000 small events from Kafka into tables. In one run: (a) bare kafkajs
// consumption doing nothing per message, (b) consume + decode + validate + evolve, the records
// in the node's encoding (binary; BENCH_ENCODING=json for the JSON records of before).
// Also the table's memory per session at 1,000,000 sessions, and peak RSS.
import { randomUUID } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import { encodeEvent, encodeEventBinary, type L2tpEvent, parseEvent, topicNames } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import { kafkaBrokers } from '../infra/config.js'
import { evolveFleet, type Fleet, sessionCount } from '../registry/index.js'
import { ensureTopics, makeKafka } from '../registry/shell/index.js'
import { sessionEstablished, tunnelEstablished } from '../test/support/history.js'
import { decodeProfile } from './decode-profile.js'
import { dropTopics, gc, printTable, rssSampler, writeResults } from './lib.js'

const ENDPOINTS = 100
const TUNNELS = 100
const SESSIONS_PER_TUNNEL = 100 // 100 x 100 x 100 = 1,000,000 sessions, 1,010,100 events
/** What the node writes (binary) by default; BENCH_ENCODING=json measures the JSON records of before. */
const ENCODING = process.env.BENCH_ENCODING === 'json' ? 'json' : 'binary'
const encode = (e: L2tpEvent): Buffer | string =>
  ENCODING === 'json' ? encodeEvent(e) : encodeEventBinary(e)

function* endpointEvents(i: number): Generator<L2tpEvent> {
  const endpointId = `bench-${i}`
  let seq = 0
  const env = () => ({ endpointId, epoch: 1, seq: ++seq, at: 1_700_000_000_000 + seq, nodeId: 'node-1' })
  yield {
    type: 'EndpointActivated',
    v: 1,
    ...env(),
    address: { host: '127.0.0.2', port: 1701 },
    role: 'LNS',
    hostName: endpointId,
  } as L2tpEvent
  let serial = 1
  for (let t = 1; t <= TUNNELS; t++) {
    yield tunnelEstablished(env(), t, t)
    for (let s = 0; s < SESSIONS_PER_TUNNEL; s++)
      yield sessionEstablished(env(), t, (t - 1) * SESSIONS_PER_TUNNEL + s + 1, serial++)
  }
}

const produce = async (kafka: Kafka, topic: string): Promise<number> => {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  let total = 0
  for (let i = 0; i < ENDPOINTS; i++) {
    const messages = [...endpointEvents(i)].map((e) => ({ key: e.endpointId, value: encode(e) }))
    for (let k = 0; k < messages.length; k += 1000)
      await producer.send({ topic, messages: messages.slice(k, k + 1000) })
    total += messages.length
  }
  await producer.disconnect()
  return total
}

/** Consumes the whole topic once; `perMessage` runs for each value. Returns events/s from first to last. */
const consume = async (
  kafka: Kafka,
  topic: string,
  total: number,
  perMessage: ((v: Buffer) => void) | null,
) => {
  const consumer = kafka.consumer({
    groupId: `bench-${randomUUID()}`,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 50,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  let first = 0
  let last = 0
  let done: () => void = () => undefined
  const finished = new Promise<void>((r) => {
    done = r
  })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (seen === 0) first = performance.now()
      if (perMessage !== null) for (const m of batch.messages) perMessage(m.value as Buffer)
      seen += batch.messages.length
      if (seen >= total) {
        last = performance.now()
        done()
      }
    },
  })
  await finished
  await consumer.disconnect()
  return { eventsPerSec: total / ((last - first) / 1000), seconds: (last - first) / 1000 }
}

export const replayBench = async (): Promise<void> => {
  await up()
  const names = topicNames(`bench${randomUUID().slice(0, 6)}.`)
  await ensureTopics({ brokers: kafkaBrokers(), names })
  const kafka = makeKafka({ brokers: kafkaBrokers(), clientId: 'bench-replay' })
  const rss = rssSampler()
  try {
    console.log(
      `producing ${(ENDPOINTS * (1 + TUNNELS * (1 + SESSIONS_PER_TUNNEL))).toLocaleString()} events to ${names.events}…`,
    )
    const total = await produce(kafka, names.events)
    // Warm-up pass (JIT, broker page cache), then bare and full measured back to back.
    await consume(kafka, names.events, total, null)
    const bare = await consume(kafka, names.events, total, null)
    gc()
    const heapBefore = process.memoryUsage().heapUsed
    const fleet: Fleet = new Map()
    let rejected = 0
    const full = await consume(kafka, names.events, total, (v) => {
      const e = parseEvent(v)
      if (e._tag === 'Left') rejected++
      else evolveFleet(fleet, e.right)
    })
    gc()
    const heapAfter = process.memoryUsage().heapUsed
    const sessions = [...fleet.values()].reduce((n, t) => n + sessionCount(t), 0)
    if (rejected > 0 || sessions !== ENDPOINTS * TUNNELS * SESSIONS_PER_TUNNEL) {
      throw new Error(`fold is wrong: ${rejected} rejected, ${sessions} sessions`)
    }
    const figures = {
      encoding: ENCODING,
      events: total,
      sessions,
      bareEventsPerSec: Math.round(bare.eventsPerSec),
      fullEventsPerSec: Math.round(full.eventsPerSec),
      ratio: Number((full.eventsPerSec / bare.eventsPerSec).toFixed(3)),
      bytesPerSession: Math.round((heapAfter - heapBefore) / sessions),
      peakRssMiB: Math.round(rss.stop()),
      bareUsPerEvent: Number((1e6 / bare.eventsPerSec).toFixed(3)),
      fullUsPerEvent: Number((1e6 / full.eventsPerSec).toFixed(3)),
      // Where the extra time of (b) goes, measured in memory on the same event mix:
      ...decodeProfile(),
    }
    printTable('replay (target: ratio >= 0.8, bytesPerSession <= 600)', Object.entries(figures))
    console.log(`\nwrote ${writeResults('replay', figures)}`)
  } finally {
    await dropTopics(kafka, names)
  }
}
