// Real Kafka (from infra/): the event-log port appends in order per endpoint, reads back exactly,
// and a newer producer with the same transactional id fences the old one.
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type L2tpEvent, parseEvent, type TopicNames, unsafe } from '../../../contracts/index.js'
import { canonicalJson, evolveFleet, type Fleet, replay } from '../../../registry/index.js'
import {
  type EndpointWriter,
  openEndpointWriter,
  partitionOffsets,
  readPartition,
} from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../../support/brokers.js'
import { history } from '../../support/history.js'

const ENDPOINTS = 50
const PER_ENDPOINT = 2000 // 100,000 events in all
const PER_TX = 500

let names: TopicNames
beforeAll(async () => {
  names = await freshTopics()
})

const canonicalFleet = (f: Fleet): string =>
  [...f.keys()]
    .sort()
    .map((k) => canonicalJson(f.get(k) as NonNullable<ReturnType<Fleet['get']>>))
    .join('\n')

const inBatches = <T>(xs: readonly T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n))

describe('event log on real Kafka', () => {
  const writers: EndpointWriter[] = []
  afterAll(async () => {
    await Promise.all(writers.map((w) => w.close().catch(() => undefined)))
  })

  it('100,000 events over 50 endpoints are read back in order; the replayed table equals the folded one', async () => {
    const deps = eventLogDeps(names)
    const expected: Fleet = new Map()
    const histories = Array.from({ length: ENDPOINTS }, (_, i) => [
      ...history({ endpointId: `lns-${i}`, events: PER_ENDPOINT, seed: i + 1, maxTunnels: 20 }),
    ])
    for (const h of histories) replay(h, expected)
    // Ten endpoints at a time, each appending its history in transactions of 500.
    for (const group of inBatches(histories, 10)) {
      await Promise.all(
        group.map(async (h) => {
          const w = rightOrThrow(await openEndpointWriter(deps, (h[0] as L2tpEvent).endpointId)())
          writers.push(w)
          for (const batch of inBatches(h, PER_TX)) rightOrThrow(await w.append(batch)())
        }),
      )
    }
    const offsets = rightOrThrow(await partitionOffsets(deps, names.events)())
    const fromKafka: Fleet = new Map()
    const lastSeq = new Map<string, number>()
    let read = 0
    for (const p of offsets) {
      const done = rightOrThrow(
        await readPartition(deps, { topic: names.events, partition: p.partition, from: p.low }, (records) => {
          for (const r of records) {
            const e = parseEvent(r.value ?? '')
            if (E.isLeft(e)) throw new Error(e.left.problems.join())
            expect(r.key).toBe(e.right.endpointId)
            // In order per endpoint: seq rises by exactly one.
            expect(e.right.seq).toBe((lastSeq.get(e.right.endpointId) ?? 0) + 1)
            lastSeq.set(e.right.endpointId, e.right.seq)
            evolveFleet(fromKafka, e.right)
            read++
          }
        })(),
      )
      expect(done.nextOffset).toBe(p.high)
    }
    expect(read).toBe(ENDPOINTS * PER_ENDPOINT)
    expect(fromKafka.size).toBe(ENDPOINTS)
    expect(canonicalFleet(fromKafka)).toBe(canonicalFleet(expected))
    for (const t of fromKafka.values()) expect(t.consistent).toBe(true)
  })

  it('all events of an endpoint land in the partition its writer reports', async () => {
    const deps = eventLogDeps(names)
    const w = rightOrThrow(await openEndpointWriter(deps, 'lns-partition-check')())
    writers.push(w)
    const events = [...history({ endpointId: 'lns-partition-check', events: 20, seed: 9 })]
    const appended = rightOrThrow(await w.append(events)())
    expect(appended.partition).toBe(w.partition)
    const seen: string[] = []
    rightOrThrow(
      await readPartition(
        deps,
        { topic: names.events, partition: w.partition, from: appended.firstOffset },
        (rs) => {
          for (const r of rs) if (r.key === 'lns-partition-check') seen.push(r.offset)
        },
      )(),
    )
    expect(seen.length).toBe(20)
    expect(seen[0]).toBe(appended.firstOffset)
  })

  it('a second producer with the same transactional id fences the first: its next append fails as Fenced', async () => {
    const deps = eventLogDeps(names, 'fencing-test')
    const endpointId = 'lns-fenced'
    const events = [...history({ endpointId, events: 4, seed: 2 })]
    const old = rightOrThrow(await openEndpointWriter(deps, endpointId)())
    writers.push(old)
    rightOrThrow(await old.append(events.slice(0, 2))())
    const next = rightOrThrow(await openEndpointWriter(eventLogDeps(names, 'fencing-test-2'), endpointId)())
    writers.push(next)
    const r = await old.append(events.slice(2, 3))()
    expect(E.isLeft(r) && r.left._tag).toBe('Fenced')
    // Sticky: the fenced writer never succeeds again, and says why.
    const again = await old.append(events.slice(2, 3))()
    expect(E.isLeft(again) && again.left._tag).toBe('Fenced')
    // The new owner writes on; the fenced write never became visible to read-committed readers.
    rightOrThrow(await next.append(events.slice(2, 4))())
    const seqs: number[] = []
    rightOrThrow(
      await readPartition(
        deps,
        { topic: names.events, partition: next.partition, from: unsafe.offset('0') },
        (rs) => {
          for (const rec of rs) {
            const e = parseEvent(rec.value ?? '')
            if (E.isRight(e) && e.right.endpointId === endpointId) seqs.push(e.right.seq)
          }
        },
      )(),
    )
    expect(seqs).toEqual([1, 2, 3, 4])
  })
})
