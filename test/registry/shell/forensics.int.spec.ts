// Bounded forensics on real Kafka: ten concurrent timelines over a partition of 200,000 events
// keep only what they answer (one page, the endpoint's matching events) and read with small
// fetches, so the worker's memory stays within a bound the unbounded reads (every event of the
// endpoint, 16 MiB fetches) overrun many times; an offset cut ends the as-of read there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEvent, type L2tpEvent, type TopicNames, unsafe } from '../../../contracts/index.js'
import { canonicalJson, type EndpointTable, replay } from '../../../registry/index.js'
import { type EventLogDeps, stateAsOf, timelinePage } from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../../support/brokers.js'
import {
  endpointActivated,
  sessionClosed,
  sessionEstablished,
  tunnelEstablished,
} from '../../support/history.js'

const EP = 'deep-1'
const EVENTS = 200_000
/** Peak growth of heap + array buffers allowed while the ten reads run. */
const BOUND_MIB = 160

let names: TopicNames
let deps: EventLogDeps
const events: L2tpEvent[] = []

beforeAll(async () => {
  names = await freshTopics(1)
  deps = eventLogDeps(names, 'forensics')
  let seq = 0
  const env = () => ({ endpointId: EP, epoch: 1, seq: ++seq, at: 1_700_000_000_000 + seq, nodeId: 'node-1' })
  events.push(endpointActivated(env()))
  events.push(tunnelEstablished(env(), 1, 11))
  // Tunnel 1 churns sessions all along; tunnel 2 comes at the very end with one session.
  for (let i = 0; events.length < EVENTS - 2; i++) {
    const sid = (i % 60_000) + 1
    events.push(sessionEstablished(env(), 1, sid, i + 1))
    events.push(sessionClosed(env(), 1, sid))
  }
  events.push(tunnelEstablished(env(), 2, 22))
  events.push(sessionEstablished(env(), 2, 7, 999_999))
  const producer = deps.kafka.producer()
  await producer.connect()
  for (let i = 0; i < events.length; i += 2000)
    await producer.send({
      topic: names.events,
      messages: events.slice(i, i + 2000).map((e) => ({ key: EP, value: encodeEvent(e), partition: 0 })),
    })
  await producer.disconnect()
}, 180_000)

afterAll(() => {
  events.length = 0
})

const footprint = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

describe('bounded forensics', () => {
  it(`ten concurrent timelines over ${EVENTS.toLocaleString('en')} events stay within ${BOUND_MIB} MiB`, async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const base = footprint()
    let peak = base
    const sampler = setInterval(() => {
      peak = Math.max(peak, footprint())
    }, 5)
    const ask = (localTunnelId: number, localSessionId: number | null) =>
      timelinePage(deps, { endpointId: EP, localTunnelId, localSessionId, limit: 100 })
    try {
      // Eight read the whole partition for tunnel 2's three events; two take tunnel 1's first page.
      const replies = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => ask(2, i % 2 === 0 ? null : 7)),
        ask(1, null),
        ask(1, 5),
      ])
      const pages = replies.map((r) => {
        if (!r.ok) throw new Error(r.message)
        return r.result
      })
      for (const p of pages.slice(0, 8)) {
        expect(p.items.map((e) => e.event.type)).toEqual(['TunnelEstablished', 'SessionEstablished'])
        expect(p.next).toBeNull()
      }
      expect(pages[8]?.items).toHaveLength(100)
      expect(pages[8]?.next).not.toBeNull()
      // Session 5 of tunnel 1: the tunnel's set-up, then the session's own events, a page of them.
      expect(pages[9]?.items[0]?.event.type).toBe('TunnelEstablished')
      expect(
        pages[9]?.items.slice(1).every((e) => (e.event as { localSessionId?: number }).localSessionId === 5),
      ).toBe(true)
    } finally {
      clearInterval(sampler)
    }
    const grewMiB = (peak - base) / 2 ** 20
    console.log(`ten timelines: peak heap+buffers growth ${grewMiB.toFixed(0)} MiB (bound ${BOUND_MIB})`)
    expect(grewMiB).toBeLessThan(BOUND_MIB)
  }, 120_000)

  it('as-of an offset folds up to that offset and no further', async () => {
    const cut = 1000
    const t = rightOrThrow(await stateAsOf(deps, EP, { offset: unsafe.offset(String(cut)) })())
    const want = replay(events.slice(0, cut + 1)).get(EP) as EndpointTable
    expect(canonicalJson(t)).toBe(canonicalJson(want))
  })
})
