// Owner liveness as the registry judges it from lease readings (revision first seen on its own
// clock) and from the fold (EndpointReleased). Pure: readings are given, no bucket.
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { unsafe } from '../../../contracts/index.js'
import { type EndpointTable, emptyTable } from '../../../registry/index.js'
import { judge, LivenessWatch, observe, type Seen } from '../../../registry/shell/liveness.js'

const DETECT = 3000
const lease = (v: Record<string, unknown>, revision: number) =>
  E.right({ value: new TextEncoder().encode(JSON.stringify(v)), revision })
const held = (node: string, epoch: number, released = false) => ({ node, epoch, renewedAt: 1000, released })

const active = (epoch = 2): EndpointTable => {
  const t = emptyTable(unsafe.endpointId('lns-a'))
  t.epoch = unsafe.epoch(epoch)
  t.owner = unsafe.nodeId('node-1')
  t.active = true
  return t
}
const releasedTable = (epoch = 2): EndpointTable => {
  const t = active(epoch)
  t.owner = null
  t.active = false
  t.lastEventAt = unsafe.millis(5000)
  return t
}

describe('registry liveness (lease bucket + EndpointReleased)', () => {
  it('a renewed lease is ok; the same revision read again the detection time later on our clock is gone since it was seen', () => {
    let seen: Seen = observe(undefined, lease(held('node-1', 2), 7), 10_000)
    expect(judge(active(), seen, 10_000 + DETECT - 1, DETECT)).toMatchObject({
      state: 'ok',
      leaseNode: 'node-1',
    })
    seen = observe(seen, lease(held('node-1', 2), 7), 12_000)
    // Not read again since 12 s: no evidence yet that it stopped for the detection time.
    expect(judge(active(), seen, 13_000, DETECT).state).toBe('ok')
    // A failed read in between keeps when the revision was first seen.
    seen = observe(seen, E.left('TIMEOUT'), 12_500)
    expect(judge(active(), seen, 12_500, DETECT).state).toBe('unknown')
    seen = observe(seen, lease(held('node-1', 2), 7), 13_000)
    expect(judge(active(), seen, 13_000, DETECT)).toEqual({
      state: 'gone',
      since: 10_000,
      leaseNode: 'node-1',
      leaseEpoch: 2,
    })
    // Renewed again (new revision): ok at once.
    seen = observe(seen, lease(held('node-1', 2), 8), 14_000)
    expect(judge(active(), seen, 14_500, DETECT).state).toBe('ok')
  })

  it('an owner renewing between readings rarer than the detection time is never gone', () => {
    // A large fleet: each key is read every 10 s, the detection time is 3 s; every reading
    // shows a new revision (the owner renews every second).
    let seen: Seen | undefined
    for (let i = 0; i < 5; i++) {
      seen = observe(seen, lease(held('node-1', 2), 100 + i * 10), i * 10_000)
      expect(judge(active(), seen, i * 10_000 + 9_999, DETECT).state).toBe('ok')
    }
  })

  it('a released lease or an EndpointReleased in the fold shows released; no key shows no lease', () => {
    const rel = observe(undefined, lease(held('node-1', 2, true), 9), 10_000)
    expect(judge(active(), rel, 10_001, DETECT)).toMatchObject({ state: 'released', since: 1000 })
    const none = observe(undefined, E.right(null), 10_000)
    expect(judge(active(), none, 10_001, DETECT).state).toBe('no-lease')
    expect(judge(releasedTable(), none, 10_001, DETECT)).toMatchObject({ state: 'released', since: 5000 })
    // A standby took the released endpoint (newer epoch, renewing): ok before the fold sees it.
    const taken = observe(undefined, lease(held('node-2', 3), 10), 10_000)
    expect(judge(releasedTable(2), taken, 10_001, DETECT)).toMatchObject({ state: 'ok', leaseNode: 'node-2' })
  })

  it('unreadable bucket is unknown; an undecodable value counts as gone once it stops changing', () => {
    expect(judge(active(), undefined, 0, DETECT).state).toBe('unknown')
    expect(judge(active(), observe(undefined, E.left('TIMEOUT'), 0), 0, DETECT).state).toBe('unknown')
    const junk = observe(undefined, E.right({ value: new Uint8Array([1, 2, 3]), revision: 4 }), 0)
    expect(judge(active(), junk, 1, DETECT)).toMatchObject({ state: 'ok', leaseNode: null })
    expect(judge(active(), junk, DETECT, DETECT).state).toBe('ok')
    const still = observe(junk, E.right({ value: new Uint8Array([1, 2, 3]), revision: 4 }), DETECT)
    expect(judge(active(), still, DETECT, DETECT).state).toBe('gone')
  })

  it('polls at most maxGetsPerSecond per tick share and each key at most every pollMs', async () => {
    const gets: string[] = []
    const kv = {
      get: (key: string) => async () => {
        gets.push(key)
        return E.right(null)
      },
    }
    const tables = new Map(
      Array.from({ length: 50 }, (_, i) => [`ep-${i}`, emptyTable(unsafe.endpointId(`ep-${i}`))] as const),
    )
    let now = 0
    const w = new LivenessWatch(
      kv,
      () => tables,
      { detectionMs: DETECT, pollMs: 1000, maxGetsPerSecond: 100 },
      () => now,
    )
    await w.tick()
    expect(gets.length).toBe(10) // 100/s over a 100 ms tick
    for (let i = 0; i < 4; i++) await w.tick()
    expect(new Set(gets).size).toBe(50)
    await w.tick() // every key polled less than pollMs ago: nothing due
    expect(gets.length).toBe(50)
    now = 1000
    await w.tick()
    expect(gets.length).toBe(60)
    expect(w.of(tables.get('ep-0') as EndpointTable).state).toBe('no-lease')
  })
})
