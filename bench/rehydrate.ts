// rehydrate: one endpoint with 64,000 sessions over 8,000 tunnels and a 1,000,000-event history.
// In the same run: rebuild its table from snapshot + tail, and from offset 0.
import { randomUUID } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { type L2tpEvent, topicNames, unsafe } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import { kafkaBrokers } from '../infra/config.js'
import { canonicalJson, emptyTable, evolve, sessionCount } from '../registry/index.js'
import {
  ensureTopics,
  loadEndpointSnapshot,
  makeKafka,
  partitionOffsets,
  rehydrateEndpoint,
  writeSnapshots,
} from '../registry/shell/index.js'
import {
  endpointActivated,
  sessionClosed,
  sessionEstablished,
  tunnelEstablished,
} from '../test/support/history.js'
import { dropTopics, printTable, writeResults } from './lib.js'

const EP = 'bench-rehydrate'
const TUNNELS = 8000
const PER_TUNNEL = 8
const HISTORY = 1_000_000
const TAIL = 10_000

function* history(): Generator<L2tpEvent> {
  let seq = 0
  const env = () => ({ endpointId: EP, epoch: 1, seq: ++seq, at: 1_700_000_000_000 + seq, nodeId: 'node-1' })
  yield endpointActivated(env())
  for (let t = 1; t <= TUNNELS; t++) yield tunnelEstablished(env(), t, t)
  // Churn: short-lived sessions open and close, spread over the tunnels...
  const churnPairs = Math.floor((HISTORY - 1 - TUNNELS - TUNNELS * PER_TUNNEL) / 2)
  for (let i = 0; i < churnPairs; i++) {
    const t = (i % TUNNELS) + 1
    const sid = 1000 + (i % 60_000)
    yield sessionEstablished(env(), t, sid, i)
    yield sessionClosed(env(), t, sid)
  }
  // ...and the 64,000 that stay up.
  for (let t = 1; t <= TUNNELS; t++)
    for (let s = 1; s <= PER_TUNNEL; s++) yield sessionEstablished(env(), t, s, t * 100 + s)
}

export const rehydrateBench = async (): Promise<void> => {
  await up()
  const names = topicNames(`rehydrate${randomUUID().slice(0, 6)}.`)
  const brokers = kafkaBrokers()
  await ensureTopics({ brokers, names })
  const kafka = makeKafka({ brokers, clientId: 'bench-rehydrate' })
  const deps = { kafka, names }
  try {
    console.log(`producing a ${HISTORY.toLocaleString()}-event history of ${EP}…`)
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const table = emptyTable(unsafe.endpointId(EP))
    let snapshotTable: string | null = null
    let batch: Array<{ key: string; value: string }> = []
    let n = 0
    for (const e of history()) {
      batch.push({ key: EP, value: JSON.stringify(e) })
      evolve(table, e)
      n++
      if (n === HISTORY - TAIL) snapshotTable = canonicalJson(table)
      if (batch.length === 1000) {
        await producer.send({ topic: names.events, messages: batch })
        batch = []
      }
    }
    if (batch.length > 0) await producer.send({ topic: names.events, messages: batch })
    // The snapshot covers everything but the last TAIL events: write it at that offset.
    const offsets = await partitionOffsets(deps, names.events)()
    if (E.isLeft(offsets) || snapshotTable === null) throw new Error('no offsets')
    const p = offsets.right.find((o) => BigInt(o.high) > 0n)
    if (p === undefined) throw new Error('no data')
    const cut = unsafe.offset((BigInt(p.high) - BigInt(TAIL)).toString())
    const { decodeSnapshot } = await import('../registry/index.js')
    const snap = decodeSnapshot(
      JSON.stringify({
        type: 'Snapshot',
        v: 1,
        endpointId: EP,
        partition: p.partition,
        nextOffset: cut,
        table: JSON.parse(snapshotTable),
        counters: { duplicates: 0, staleRejected: 0, anomalies: 0, gaps: 0 },
      }),
    )
    if (E.isLeft(snap)) throw new Error('bad snapshot')
    await writeSnapshots(producer, deps, p.partition, cut, [snap.right.table])
    await producer.disconnect()
    const want = canonicalJson(table)

    const t0 = performance.now()
    const fromSnap = await rehydrateEndpoint(deps, EP, loadEndpointSnapshot)()
    const t1 = performance.now()
    const full = await rehydrateEndpoint(deps, EP, async () => null)()
    const t2 = performance.now()
    if (E.isLeft(fromSnap) || E.isLeft(full)) throw new Error('rehydration failed')
    if (
      !fromSnap.right.fromSnapshot ||
      canonicalJson(fromSnap.right.table) !== want ||
      canonicalJson(full.right.table) !== want
    ) {
      throw new Error('rehydrated table differs from the folded one')
    }
    const figures = {
      sessions: sessionCount(table),
      tunnels: table.tunnels.size,
      historyEvents: n,
      tailEvents: fromSnap.right.tailEvents,
      snapshotTailSeconds: Number(((t1 - t0) / 1000).toFixed(3)),
      fullReplaySeconds: Number(((t2 - t1) / 1000).toFixed(3)),
    }
    printTable('rehydrate (target: snapshotTailSeconds < 1)', Object.entries(figures))
    console.log(`\nwrote ${writeResults('rehydrate', figures)}`)
  } finally {
    await dropTopics(kafka, names)
  }
}
