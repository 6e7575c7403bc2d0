// fleet: 10,000,000 sessions over 200 endpoints (50,000 each) with a history of churn, folded by
// real registry instances (bench/fleet-instance.ts, one process each). In one run: a full
// rebuild from offset 0 by one instance, a restart from its snapshots (+ a small tail), query
// latency at that size, and the rebuild by two instances in one group.
// Smaller runs: BENCH_SESSIONS (default 10,000,000), BENCH_ENDPOINTS (200), BENCH_CHURN (0.5:
// short sessions opened and closed per standing session).
import { fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import type { Kafka } from 'kafkajs'
import { encodeEventBinary, type L2tpEvent, type TopicNames, topicNames } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import { kafkaBrokers } from '../infra/config.js'
import { ensureTopics, makeKafka, partitionOffsets } from '../registry/shell/index.js'
import { endpointHistory } from './fleet-history.js'
import type { ToChild, ToParent } from './fleet-instance.js'
import { dropTopics, printTable, writeResults } from './lib.js'

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000_000)
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 200)
const CHURN = Number(process.env.BENCH_CHURN ?? 0.5)
const PER_ENDPOINT = Math.floor(SESSIONS / ENDPOINTS)
const PER_TUNNEL = 100
const TUNNELS = Math.ceil(PER_ENDPOINT / PER_TUNNEL)

/** Produces the histories endpoint by endpoint interleaved (round robin, 500 events each). */
const produce = async (kafka: Kafka, topic: string, seqs: Array<{ n: number }>): Promise<number> => {
  // Up to 4 sends in flight: one connection keeps their order (the bench checks the fold).
  const producer = kafka.producer({ maxInFlightRequests: 4 })
  await producer.connect()
  const gens = seqs.map((s, i) =>
    endpointHistory(i, s, { tunnels: TUNNELS, perEndpoint: PER_ENDPOINT, churn: CHURN }),
  )
  let live = gens.length
  let total = 0
  let batch: Array<{ key: string; value: Buffer }> = []
  const inFlight: Array<Promise<unknown>> = []
  const flush = async () => {
    if (batch.length > 0) inFlight.push(producer.send({ topic, messages: batch, acks: -1 }))
    total += batch.length
    batch = []
    if (inFlight.length >= 4) await inFlight.shift()
  }
  const t0 = performance.now()
  while (live > 0) {
    live = 0
    for (const g of gens) {
      for (let j = 0; j < 500; j++) {
        const r = g.next()
        if (r.done === true) break
        if (j === 499) live++
        batch.push({ key: r.value.endpointId, value: encodeEventBinary(r.value) })
      }
      // Small enough that one partition's record batch stays under the broker's 1 MiB.
      if (batch.length >= 5000) await flush()
    }
    const rate = Math.round(total / ((performance.now() - t0) / 1000))
    process.stdout.write(`\r  ${total.toLocaleString()} events, ${rate.toLocaleString()}/s `)
  }
  await flush()
  await Promise.all(inFlight)
  await producer.disconnect()
  console.log('')
  return total
}

/** A small tail after the snapshots: one audit event per endpoint (the table stays the same). */
const produceTail = async (kafka: Kafka, topic: string, seqs: Array<{ n: number }>): Promise<void> => {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const messages = seqs.map((s, i) => {
    const e = {
      type: 'CommandApplied',
      v: 1,
      endpointId: `fleet-${i}`,
      epoch: 1,
      seq: ++s.n,
      at: 1_700_000_000_000 + s.n,
      nodeId: 'node-1',
      command: 'Drain',
      subject: 'l2tp.ep.x.drain',
      issuer: 'bench',
      result: 'applied',
      detail: null,
      localTunnelId: null,
      localSessionId: null,
    } as L2tpEvent
    return { key: e.endpointId, value: encodeEventBinary(e) }
  })
  await producer.send({ topic, messages })
  await producer.disconnect()
}

interface Instance {
  readonly send: (m: ToChild) => void
  readonly next: (kind: ToParent['kind']) => Promise<ToParent>
  latest: Record<string, string>
  sessions: number
}

const spawnInstance = (names: TopicNames, groupId: string): Instance => {
  const child = fork(fileURLToPath(new URL('./fleet-instance.ts', import.meta.url)), [], {
    execArgv: [
      '--max-old-space-size=7168',
      ...(process.env.BENCH_CPU_PROF === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]),
      '--import',
      'tsx',
    ],
    env: {
      ...process.env,
      FLEET_EVENTS: names.events,
      FLEET_SNAPSHOTS: names.snapshots,
      FLEET_DEAD: names.dead,
      FLEET_GROUP: groupId,
    },
  })
  const waiting: Array<{ kind: string; resolve: (m: ToParent) => void }> = []
  const inst: Instance = {
    send: (m) => child.send(m),
    next: (kind) => new Promise((resolve) => waiting.push({ kind, resolve })),
    latest: {},
    sessions: 0,
  }
  child.on('message', (m: ToParent) => {
    if (m.kind === 'progress') {
      inst.latest = m.positions
      inst.sessions = m.sessions
    }
    const i = waiting.findIndex((w) => w.kind === m.kind)
    if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m)
  })
  child.on('exit', (code) => {
    if (code !== 0) console.error(`fleet instance ${child.pid} exited with ${code}`)
  })
  return inst
}

/** Seconds from now until the instances together have folded every partition up to `highs`. */
const caughtUp = async (instances: Instance[], highs: ReadonlyMap<number, bigint>): Promise<number> => {
  const t0 = performance.now()
  for (;;) {
    const done = [...highs].every(([p, high]) =>
      instances.some((i) => {
        const at = i.latest[String(p)]
        return at !== undefined && BigInt(at) >= high
      }),
    )
    if (done) return (performance.now() - t0) / 1000
    if (performance.now() - t0 > 30 * 60_000) throw new Error('the fold did not catch up in 30 minutes')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Seconds until the group has split the partitions (each held by exactly one instance, every
 * instance holding some) and every partition is folded up to `highs`. Waiting for "every
 * partition caught up by someone" alone let the first instance fold everything before the
 * second had joined (the earlier 1,000,000 + 451,420 "split": the second got the partitions only
 * when the first was stopped).
 */
const caughtUpSplit = async (instances: Instance[], highs: ReadonlyMap<number, bigint>): Promise<number> => {
  const t0 = performance.now()
  for (;;) {
    const split = [...highs.keys()].every(
      (p) => instances.filter((i) => i.latest[String(p)] !== undefined).length === 1,
    )
    const all = instances.every((i) => Object.keys(i.latest).length > 0)
    const done = [...highs].every(([p, high]) =>
      instances.some((i) => {
        const at = i.latest[String(p)]
        return at !== undefined && BigInt(at) >= high
      }),
    )
    if (split && all && done) return (performance.now() - t0) / 1000
    if (performance.now() - t0 > 30 * 60_000)
      throw new Error('the group did not split and catch up in 30 minutes')
    await new Promise((r) => setTimeout(r, 50))
  }
}

const highsOf = async (kafka: Kafka, topic: string): Promise<Map<number, bigint>> => {
  const o = await partitionOffsets({ kafka, names: topicNames() }, topic)()
  if (E.isLeft(o)) throw new Error(o.left.detail)
  return new Map(
    o.right.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  )
}

const stop = async (i: Instance) => {
  const final = i.next('final')
  i.send({ kind: 'stop' })
  const m = await final
  if (m.kind !== 'final') throw new Error('unexpected reply')
  return m
}

export const fleetBench = async (): Promise<void> => {
  await up()
  const tag = randomUUID().slice(0, 6)
  const names = topicNames(`fleet${tag}.`)
  const names2 = { ...topicNames(`fleet${tag}b.`), events: names.events }
  await ensureTopics({ brokers: kafkaBrokers(), names })
  await ensureTopics({ brokers: kafkaBrokers(), names: names2 })
  const kafka = makeKafka({ brokers: kafkaBrokers(), clientId: 'bench-fleet' })
  try {
    console.log(
      `producing ${SESSIONS.toLocaleString()} sessions over ${ENDPOINTS} endpoints with churn ${CHURN}…`,
    )
    const seqs = Array.from({ length: ENDPOINTS }, () => ({ n: 0 }))
    const events = await produce(kafka, names.events, seqs)
    let highs = await highsOf(kafka, names.events)

    console.log('rebuild from offset 0, one instance…')
    const a = spawnInstance(names, `fleet-a-${tag}`)
    const rebuildSeconds = await caughtUp([a], highs)
    const snapReply = a.next('snapshotted')
    a.send({ kind: 'snapshot' })
    const snap = await snapReply
    const finalA = await stop(a)

    await produceTail(kafka, names.events, seqs)
    highs = await highsOf(kafka, names.events)
    console.log('restart from snapshots + tail…')
    const b = spawnInstance(names, `fleet-b-${tag}`)
    const restartSeconds = await caughtUp([b], highs)
    const queriesReply = b.next('queries')
    b.send({ kind: 'queries' })
    const q = await queriesReply
    const finalB = await stop(b)

    console.log('rebuild from offset 0, two instances in one group…')
    const c1 = spawnInstance(names2, `fleet-c-${tag}`)
    const c2 = spawnInstance(names2, `fleet-c-${tag}`)
    const rebuildSeconds2 = await caughtUpSplit([c1, c2], highs)
    // What each held once split and caught up (its last progress report), before either stops:
    // the first to stop hands its partitions to the other.
    await new Promise((r) => setTimeout(r, 500))
    const held: readonly [number, number] = [c1.sessions, c2.sessions]
    const [f1, f2] = await Promise.all([stop(c1), stop(c2)])

    if (
      finalA.kind !== 'final' ||
      finalB.kind !== 'final' ||
      q.kind !== 'queries' ||
      snap.kind !== 'snapshotted'
    ) {
      throw new Error('unexpected reply')
    }
    if (finalA.sessions !== SESSIONS - (SESSIONS % ENDPOINTS) || finalB.sessions !== finalA.sessions) {
      throw new Error(`fold is wrong: rebuild ${finalA.sessions}, restart ${finalB.sessions} sessions`)
    }
    const r3 = (x: number) => Number(x.toFixed(3))
    const figures = {
      sessions: finalA.sessions,
      endpoints: finalA.endpoints,
      events,
      rebuildSeconds: r3(rebuildSeconds),
      rebuildEventsPerSec: Math.round(events / rebuildSeconds),
      peakRssMiB: Math.max(finalA.maxRssMiB, finalB.maxRssMiB),
      /** Of the rebuild's process, its snapshot write included. */
      rebuildPeakRssMiB: finalA.maxRssMiB,
      snapshotWriteSeconds: r3(snap.seconds),
      snapshotsWritten: snap.written,
      restartSeconds: r3(restartSeconds),
      restartPeakRssMiB: finalB.maxRssMiB,
      queryP99Ms: Math.max(...Object.values(q.p99Ms)),
      ...Object.fromEntries(Object.entries(q.p99Ms).map(([k, v]) => [`${k}P99Ms`, v])),
      ...Object.fromEntries(Object.entries(q.p50Ms).map(([k, v]) => [`${k}P50Ms`, v])),
      rebuildSeconds2: r3(rebuildSeconds2),
      instance1Sessions: held[0],
      instance2Sessions: held[1],
      /** The two instances' tables together against the one-instance rebuild (must be equal). */
      splitSessionsMatch: held[0] + held[1] === finalA.sessions ? 'yes' : 'NO',
      instance1PeakRssMiB: f1.kind === 'final' ? f1.maxRssMiB : -1,
      instance2PeakRssMiB: f2.kind === 'final' ? f2.maxRssMiB : -1,
    }
    printTable(
      'fleet (targets: rebuild <= 60 s, restart <= 10 s, peak RSS <= 6 GiB, query p99 <= 50 ms)',
      Object.entries(figures),
    )
    console.log(`\nwrote ${writeResults('fleet', figures)}`)
  } finally {
    await dropTopics(kafka, names)
    await dropTopics(kafka, names2)
  }
}
