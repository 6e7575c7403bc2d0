// Any stop of serving hands the lease back (docs/lease.md): an HaEndpoint whose Kafka writer is
// fenced, and one whose guard trips (its lease lapsed while the process was stopped), each stop
// serving, mark the lease released and never renew it again, and a standby claims it at once.
// Real Kafka and a real UDP socket; the lease runs on a fake clock and a fake KV.
import { createSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TopicNames, unsafe } from '../../../contracts/index.js'
import { HaEndpoint } from '../../../nodes/shell/ha-endpoint.js'
import { EndpointLease, type LeaseOptions } from '../../../nodes/shell/lease.js'
import { type EventLogDeps, openEndpointWriter, readEndpointHistory } from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../../support/brokers.js'
import { waitFor } from '../../support/churn.js'
import { FakeClock, FakeKv } from '../../support/fake-lease.js'
import { engineConfig } from '../../support/sim.js'

const OPTIONS: LeaseOptions = { renewMs: 500, detectionMs: 2000, pollMs: 100, marginMs: 200 }
const RUN = Math.random().toString(36).slice(2, 8)

let names: TopicNames
let deps: EventLogDeps
beforeAll(async () => {
  names = await freshTopics(2)
  deps = eventLogDeps(names, 'ha-handback')
})
afterAll(async () => undefined)

/** An owner `a` serving `id` on 127.0.0.<host>, and a standby lease `b`, on one fake KV and clock. */
const owner = async (id: string, host: string) => {
  const kv = new FakeKv()
  const clock = new FakeClock()
  const logs: string[] = []
  const a = new HaEndpoint(
    engineConfig(),
    { host, port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId(id), nodeId: unsafe.nodeId('node-a') },
    deps,
    kv,
    null,
    (_l, msg, extra) => logs.push(`${msg} ${JSON.stringify(extra ?? {})}`),
    { lease: OPTIONS, clock, hot: false },
  )
  a.start()
  await clock.advance(0)
  await waitFor('a to serve', () => a.isServing, 30_000)
  const acquired: number[] = []
  const b = new EndpointLease(
    kv,
    id,
    'node-b',
    { onAcquired: async (e) => void acquired.push(e), onLost: () => undefined, log: () => undefined },
    OPTIONS,
    () => 0,
    clock,
  )
  b.start()
  await clock.advance(0)
  return { kv, clock, a, b, acquired, logs }
}

/** An event the endpoint records as it would for an operator command (body only: the endpoint adds the envelope). */
const testCommand = (detail: string | null) =>
  ({
    type: 'CommandApplied',
    v: 1,
    command: 'Test',
    subject: 'test',
    issuer: 'test',
    result: 'applied',
    detail,
    localTunnelId: null,
    localSessionId: null,
  }) as never

const ownWrites = (kv: FakeKv) => kv.log.filter((w) => w.node === 'node-a' && w.outcome === 'Written')

describe('any stop of serving hands the lease over', () => {
  it('a fenced writer: the endpoint stops, the lease is released, the standby claims it', async () => {
    const id = `hb-fenced-${RUN}`
    const { kv, clock, a, b, acquired, logs } = await owner(id, '127.0.0.61')
    try {
      await clock.advance(1000) // a renews as usual
      expect(acquired).toEqual([])
      // Another writer opens the endpoint's transactional id: a's producer is fenced.
      const other = rightOrThrow(await openEndpointWriter(deps, id)())
      a.endpoint?.record(testCommand(null))
      await waitFor('a to stop serving', () => !a.isServing, 30_000)
      expect(logs.some((l) => l.includes('stopped serving endpoint') && l.includes('fenced'))).toBe(true)
      await waitFor('the lease to be released', () => kv.value(id)?.released === true, 5000)
      const written = ownWrites(kv).length
      await clock.advance(OPTIONS.pollMs)
      expect(acquired).toEqual([2])
      await clock.advance(10_000)
      expect(ownWrites(kv)).toHaveLength(written) // never renewed again
      await other.close()
    } finally {
      b.stop()
      await a.stop()
    }
  })

  it('events recorded just before the lease lapsed still reach the log: the stopped owner flushes its outbox (the next owner fences it first)', async () => {
    const id = `hb-flush-${RUN}`
    const { clock, a, b } = await owner(id, '127.0.0.63')
    const sock = createSocket('udp4')
    try {
      await clock.advance(1000)
      const ep = a.endpoint
      if (ep === null) throw new Error('not serving')
      // 2,000 events: four transactions of 500; the first is in flight when the lease lapses.
      for (let i = 0; i < 2000; i++) ep.record(testCommand(`event ${i}`))
      clock.jump(OPTIONS.detectionMs)
      await new Promise<void>((r) =>
        sock.send(Buffer.from([0xc8, 0x02, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]), 1701, '127.0.0.63', () => r()),
      )
      await waitFor('a to stop serving', () => !a.isServing, 10_000)
      await new Promise((r) => setTimeout(r, 3500)) // past the flush bound (LOSE_DRAIN_MS)
      const h = rightOrThrow(await readEndpointHistory(deps, id)())
      expect(h.events.filter((e) => e.event.type === 'CommandApplied')).toHaveLength(2000)
    } finally {
      sock.close()
      b.stop()
      await a.stop()
    }
  })

  it('a tripped guard: a datagram after the lease lapsed stops the endpoint and hands the lease over', async () => {
    const id = `hb-guard-${RUN}`
    const { kv, clock, a, b, acquired, logs } = await owner(id, '127.0.0.62')
    const sock = createSocket('udp4')
    try {
      await clock.advance(1000)
      // The process "was stopped": time moves past the validity without any timer firing.
      clock.jump(OPTIONS.detectionMs)
      await new Promise<void>((r) =>
        sock.send(Buffer.from([0xc8, 0x02, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]), 1701, '127.0.0.62', () => r()),
      )
      await waitFor('a to stop serving', () => !a.isServing, 10_000)
      expect(logs.some((l) => l.includes('stopped serving endpoint') && l.includes('validity ran out'))).toBe(
        true,
      )
      await waitFor('the lease to be released', () => kv.value(id)?.released === true, 5000)
      const written = ownWrites(kv).length
      await clock.advance(OPTIONS.pollMs)
      expect(acquired).toEqual([2])
      await clock.advance(10_000)
      expect(ownWrites(kv)).toHaveLength(written)
    } finally {
      sock.close()
      b.stop()
      await a.stop()
    }
  })
})
