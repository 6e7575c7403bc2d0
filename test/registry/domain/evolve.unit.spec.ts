import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type L2tpEvent, unsafe } from '../../../contracts/index.js'
import {
  apply,
  canonicalJson,
  cloneTable,
  decodeSnapshot,
  type EndpointTable,
  emptyTable,
  encodeSnapshot,
  evolve,
  RELEASED_KEPT,
  replay,
  sessionCount,
} from '../../../registry/index.js'
import { anyEvent } from '../../support/arbitraries.js'
import { history, sessionClosed, sessionEstablished, tunnelEstablished } from '../../support/history.js'

const fold = (events: readonly L2tpEvent[], from?: EndpointTable): EndpointTable =>
  events.reduce(evolve, from ?? emptyTable(unsafe.endpointId(events[0]?.endpointId ?? 'lns-a')))

const historyArb = fc
  .record({
    seed: fc.nat(),
    events: fc.integer({ min: 1, max: 400 }),
    maxTunnels: fc.integer({ min: 1, max: 8 }),
  })
  .map((o) => [...history({ endpointId: 'lns-a', ...o })])

const full = (t: EndpointTable) => `${canonicalJson(t)}|${JSON.stringify(t.counters)}`

describe('evolve and replay (DESIGN.md §4)', () => {
  it('replay is deterministic: the same events give the same canonical bytes', () => {
    fc.assert(
      fc.property(historyArb, (events) => {
        expect(canonicalJson(fold(events))).toBe(canonicalJson(fold(events)))
      }),
    )
  })

  it('evolve is total: arbitrary (even nonsensical) event streams never throw', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        const fleet = replay(events)
        for (const t of fleet.values()) expect(() => canonicalJson(t)).not.toThrow()
      }),
    )
  })

  it('snapshot + tail equals a full replay at every cut', () => {
    fc.assert(
      fc.property(historyArb, (events) => {
        const whole = full(fold(events))
        for (let cut = 0; cut <= events.length; cut++) {
          const head = fold(events.slice(0, cut), emptyTable(unsafe.endpointId('lns-a')))
          const snap = decodeSnapshot(
            encodeSnapshot({ table: head, partition: 3, nextOffset: unsafe.offset(String(cut)) }),
          )
          if (snap._tag === 'Left') throw new Error(snap.left.problems.join())
          expect(snap.right.partition).toBe(3)
          expect(snap.right.nextOffset).toBe(String(cut))
          expect(full(fold(events.slice(cut), snap.right.table))).toBe(whole)
        }
      }),
      { numRuns: 25 },
    )
  })

  it('duplicated events change nothing (at-least-once delivery is tolerated)', () => {
    fc.assert(
      fc.property(historyArb, fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), (events, picks) => {
        const withDupes: L2tpEvent[] = []
        events.forEach((e, i) => {
          withDupes.push(e)
          for (const p of picks) if (p % events.length === i) withDupes.push(events[p % (i + 1)] as L2tpEvent)
        })
        const a = fold(events)
        const b = fold(withDupes)
        expect(canonicalJson(b)).toBe(canonicalJson(a))
        expect(b.counters.duplicates).toBe(withDupes.length - events.length)
        expect(b.consistent).toBe(true)
      }),
    )
  })

  it('a gap in seq marks the endpoint inconsistent and says where', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), (events, n) => {
        fc.pre(events.length >= 3)
        const hole = 1 + (n % (events.length - 2)) // never the first or the last
        const t = fold(events.filter((_, i) => i !== hole))
        expect(t.consistent).toBe(false)
        expect(t.lastGap).toEqual({ epoch: 1, expected: hole + 1, got: hole + 2 })
        expect(t.counters.gaps).toBe(1)
        expect(fold(events).consistent).toBe(true)
      }),
    )
  })

  it('an event of a stale epoch is rejected and counted, and changes nothing', () => {
    const events = [...history({ endpointId: 'lns-a', events: 50, seed: 7, epoch: 1 })]
    const t = fold(events)
    const takeover: L2tpEvent = {
      type: 'EndpointActivated',
      v: 1,
      endpointId: unsafe.endpointId('lns-a'),
      epoch: unsafe.epoch(2),
      seq: unsafe.seq(1),
      at: unsafe.millis(1),
      nodeId: unsafe.nodeId('node-2'),
      address: { host: '127.0.0.2', port: unsafe.port(1701) },
      role: 'LNS',
      hostName: 'lns-a',
    }
    expect(apply(t, takeover)).toBe('applied')
    expect(t.owner).toBe('node-2')
    expect(t.epoch).toBe(2)
    const before = canonicalJson(t)
    const zombie = sessionEstablished(
      { endpointId: 'lns-a', epoch: 1, seq: 51, at: 2, nodeId: 'node-1' },
      1,
      999,
      1,
    )
    expect(apply(t, zombie)).toBe('stale')
    expect(t.counters.staleRejected).toBe(1)
    expect(canonicalJson(t)).toBe(before)
  })

  it('a new epoch counts seq from 1 again and keeps the table (takeover)', () => {
    const first = [...history({ endpointId: 'lns-a', events: 200, seed: 3, epoch: 1 })]
    const t = fold(first)
    const sessions = sessionCount(t)
    const second = [...history({ endpointId: 'lns-a', events: 1, seed: 3, epoch: 2, nodeId: 'node-2' })]
    fold(second, t)
    expect(t.epoch).toBe(2)
    expect(t.seq).toBe(1)
    expect(t.consistent).toBe(true)
    expect(sessionCount(t)).toBe(sessions)
  })

  it('sessions on unknown tunnels and closes of unknown ids are anomalies, not crashes', () => {
    const env = { endpointId: 'lns-a', epoch: 1, at: 5, nodeId: 'node-1' }
    const t = fold([sessionEstablished({ ...env, seq: 1 }, 42, 1, 1)])
    expect(t.tunnels.size).toBe(0)
    expect(t.counters.anomalies).toBe(1)
  })

  it('cloneTable is a deep copy: folding on keeps the clone as it was', () => {
    const events = [...history({ endpointId: 'lns-a', events: 300, seed: 11 })]
    const t = fold(events.slice(0, 150))
    const copy = cloneTable(t)
    const at150 = canonicalJson(t)
    fold(events.slice(150), t)
    expect(canonicalJson(copy)).toBe(at150)
    expect(canonicalJson(t)).not.toBe(at150)
  })

  it('canonical bytes do not depend on insertion order of tunnels and sessions', () => {
    const events = [...history({ endpointId: 'lns-a', events: 120, seed: 5 })]
    const a = fold(events)
    const b = cloneTable(a)
    // Rebuild b's maps in reverse order.
    const tunnels = [...b.tunnels.entries()].reverse()
    b.tunnels.clear()
    for (const [k, v] of tunnels) {
      const s = [...v.sessions.entries()].reverse()
      v.sessions.clear()
      for (const [sk, sv] of s) v.sessions.set(sk, sv)
      b.tunnels.set(k, v)
    }
    expect(canonicalJson(b)).toBe(canonicalJson(a))
  })
})

describe('released session ids (RFC 4951 §5.9, for least-recently-used ids after a failover)', () => {
  it('closes and clears are remembered per tunnel, newest last, bounded, and survive a snapshot', () => {
    let seq = 0
    const env = () => ({ endpointId: 'lns-a', epoch: 1, seq: ++seq, at: 1000 + seq, nodeId: 'n' })
    const events: L2tpEvent[] = [tunnelEstablished(env(), 7, 70)]
    for (let sid = 1; sid <= 300; sid++) {
      events.push(sessionEstablished(env(), 7, sid, sid))
      events.push(sessionClosed(env(), 7, sid))
    }
    events.push(sessionEstablished(env(), 7, 5, 999))
    events.push({
      type: 'SessionsReconciled',
      v: 1,
      ...env(),
      localTunnelId: 7,
      clearedSessionIds: [5],
      kept: 0,
    } as L2tpEvent)
    const t = fold(events)
    const ids = t.tunnels.get(7)?.releasedSessionIds ?? []
    expect(ids).toHaveLength(RELEASED_KEPT)
    expect(ids.at(-1)).toBe(5) // cleared by FSR: the most recent
    expect(ids.at(-2)).toBe(300)
    expect(ids[0]).toBe(300 - RELEASED_KEPT + 2)
    const back = decodeSnapshot(encodeSnapshot({ table: t, partition: 0, nextOffset: '1' as never }))
    if (back._tag === 'Left') throw new Error('snapshot did not decode')
    expect(canonicalJson(back.right.table)).toBe(canonicalJson(t))
    // A table without releases has no such key: canonical bytes of before the field are unchanged.
    expect(canonicalJson(fold([tunnelEstablished({ ...env(), seq: 1 }, 8, 80)]))).not.toMatch(/released/)
  })
})
