// replay: fold ~1,000,000 small events from Kafka into tables. In one run: (a) bare kafkajs
// consumption doing nothing per message, (b) consume + decode + validate + evolve, the records
// in the node's encoding (binary), and the same for the JSON records of before, side by side;
// (c) the same fold in a worker thread while this thread consumes (bench/replay-worker.ts).
// Also the table's memory per session at 1,000,000 sessions, and peak RSS.
import { randomUUID } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import type { Kafka } from 'kafkajs'
import { encodeEvent, encodeEventBinary, type L2tpEvent, parseEvent, topicNames } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import { kafkaBrokers } from '../infra/config.js'
import { evolveFleet, type Fleet, sessionCount } from '../registry/index.js'
import { ensureTopics, makeKafka } from '../registry/shell/index.js'
import { endpointActivated, sessionEstablished, tunnelEstablished } from '../test/support/history.js'
import { decodeProfile } from './decode-profile.js'
import { dropTopics, gc, printTable, rssSampler, writeResults } from './lib.js'

const ENDPOINTS = 100
const TUNNELS = 100
const SESSIONS_PER_TUNNEL = 100 // 100 x 100 x 100 = 1,000,000 sessions, 1,010,100 events
type Encode = (e: L2tpEvent) => Buffer | string

function* endpointEvents(i: number): Generator<L2tpEvent> {
  const endpointId = `bench-${i}`
  let seq = 0
  const env = () => ({ endpointId, epoch: 1, seq: ++seq, at: 1_700_000_000_000 + seq, nodeId: 'node-1' })
  yield endpointActivated(env())
  let serial = 1
  for (let t = 1; t <= TUNNELS; t++) {
    yield tunnelEstablished(env(), t, t)
    for (let s = 0; s < SESSIONS_PER_TUNNEL; s++)
      yield sessionEstablished(env(), t, (t - 1) * SESSIONS_PER_TUNNEL + s + 1, serial++)
  }
}

const produce = async (kafka: Kafka, topic: string, encode: Encode): Promise<number> => {
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
  /** Instead of perMessage: the batch's values, and a promise that resolves when they are folded. */
  perBatch?: { each: (values: Buffer[]) => void; done: Promise<unknown> },
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
      perBatch?.each(batch.messages.map((m) => m.value as Buffer))
      seen += batch.messages.length
      if (seen >= total) {
        if (perBatch !== undefined) await perBatch.done
        last = performance.now()
        done()
      }
    },
  })
  await finished
  await consumer.disconnect()
  return { eventsPerSec: total / ((last - first) / 1000), seconds: (last - first) / 1000 }
}

/** (c) Consumption on this thread, decode + validation + evolve in a worker thread (one buffer a batch). */
const foldInWorker = async (kafka: Kafka, topic: string, total: number) => {
  // A worker has loader hooks of its own: register tsx in it, then load the TypeScript module.
  const url = new URL('./replay-worker.ts', import.meta.url).href
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}) })`
  const worker = new Worker(boot, { eval: true, workerData: { total } })
  const folded = new Promise<{ sessions: number; rejected: number }>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  const each = (values: Buffer[]) => {
    let size = 0
    for (const v of values) size += v.length
    const buf = new ArrayBuffer(size)
    const view = new Uint8Array(buf)
    const ends = new Uint32Array(values.length)
    let at = 0
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as Buffer
      view.set(v, at)
      at += v.length
      ends[i] = at
    }
    worker.postMessage({ buf, ends }, [buf, ends.buffer])
  }
  try {
    const r = await consume(kafka, topic, total, null, { each, done: folded })
    const f = await folded
    if (f.rejected > 0 || f.sessions !== ENDPOINTS * TUNNELS * SESSIONS_PER_TUNNEL)
      throw new Error(`worker fold is wrong: ${f.rejected} rejected, ${f.sessions} sessions`)
    return r
  } finally {
    await worker.terminate()
  }
}

/** Warm-up pass (JIT, broker page cache), then bare (a) and full (b) back to back on one topic. */
const measure = async (kafka: Kafka, topic: string, total: number) => {
  await consume(kafka, topic, total, null)
  const bare = await consume(kafka, topic, total, null)
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const fleet: Fleet = new Map()
  let rejected = 0
  const full = await consume(kafka, topic, total, (v) => {
    const e = parseEvent(v)
    if (e._tag === 'Left') rejected++
    else evolveFleet(fleet, e.right)
  })
  gc()
  const heapAfter = process.memoryUsage().heapUsed
  const offMain = await foldInWorker(kafka, topic, total)
  const sessions = [...fleet.values()].reduce((n, t) => n + sessionCount(t), 0)
  if (rejected > 0 || sessions !== ENDPOINTS * TUNNELS * SESSIONS_PER_TUNNEL) {
    throw new Error(`fold is wrong: ${rejected} rejected, ${sessions} sessions`)
  }
  return { bare, full, offMain, sessions, bytesPerSession: Math.round((heapAfter - heapBefore) / sessions) }
}

export const replayBench = async (): Promise<void> => {
  await up()
  const tag = randomUUID().slice(0, 6)
  const binaryNames = topicNames(`bench${tag}.`)
  const jsonNames = topicNames(`bench${tag}json.`)
  await ensureTopics({ brokers: kafkaBrokers(), names: binaryNames })
  await ensureTopics({ brokers: kafkaBrokers(), names: jsonNames })
  const kafka = makeKafka({ brokers: kafkaBrokers(), clientId: 'bench-replay' })
  const rss = rssSampler()
  try {
    const n = (ENDPOINTS * (1 + TUNNELS * (1 + SESSIONS_PER_TUNNEL))).toLocaleString()
    console.log(
      `producing ${n} binary events to ${binaryNames.events} and ${n} JSON ones to ${jsonNames.events}…`,
    )
    const total = await produce(kafka, binaryNames.events, encodeEventBinary)
    await produce(kafka, jsonNames.events, encodeEvent)
    const json = await measure(kafka, jsonNames.events, total)
    const bin = await measure(kafka, binaryNames.events, total)
    const us = (perSec: number) => Number((1e6 / perSec).toFixed(3))
    const figures = {
      events: total,
      sessions: bin.sessions,
      bareEventsPerSec: Math.round(bin.bare.eventsPerSec),
      fullEventsPerSec: Math.round(bin.full.eventsPerSec),
      ratio: Number((bin.full.eventsPerSec / bin.bare.eventsPerSec).toFixed(3)),
      bareUsPerEvent: us(bin.bare.eventsPerSec),
      fullUsPerEvent: us(bin.full.eventsPerSec),
      // The same fold over the JSON records of before (what the ratio was measured on until now):
      jsonBareEventsPerSec: Math.round(json.bare.eventsPerSec),
      jsonFullEventsPerSec: Math.round(json.full.eventsPerSec),
      jsonRatio: Number((json.full.eventsPerSec / json.bare.eventsPerSec).toFixed(3)),
      jsonBareUsPerEvent: us(json.bare.eventsPerSec),
      jsonOffMainRatio: Number((json.offMain.eventsPerSec / json.bare.eventsPerSec).toFixed(3)),
      jsonFullUsPerEvent: us(json.full.eventsPerSec),
      /** (c) The fold in a worker thread, consumption on the main thread, binary topic. */
      offMainEventsPerSec: Math.round(bin.offMain.eventsPerSec),
      offMainRatio: Number((bin.offMain.eventsPerSec / bin.bare.eventsPerSec).toFixed(3)),
      offMainUsPerEvent: us(bin.offMain.eventsPerSec),
      /** The binary fold against bare consumption of the JSON topic. */
      binaryFullVsJsonBare: Number((bin.full.eventsPerSec / json.bare.eventsPerSec).toFixed(3)),
      bytesPerSession: bin.bytesPerSession,
      peakRssMiB: Math.round(rss.stop()),
      // Where the time of (b) goes, measured in memory on the same event mix:
      ...decodeProfile(),
    }
    printTable('replay (target: ratio >= 0.8, bytesPerSession <= 600)', Object.entries(figures))
    console.log(`\nwrote ${writeResults('replay', figures)}`)
  } finally {
    await dropTopics(kafka, binaryNames)
    await dropTopics(kafka, jsonNames)
  }
}
