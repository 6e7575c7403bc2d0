// Overload limits (issue 12 item 5): the endpoint's tunnel cap, SCCRQ and ICRQ token buckets,
// the session set-up timeout. Given-when-then on the sans-IO engine with a fake clock.
import { describe, expect, it } from 'vitest'
import { take } from '../../../nodes/engine/admission.js'
import type { ControlMessage } from '../../../nodes/wire/index.js'
import {
  advance,
  datagram,
  given,
  MT,
  onlyTunnel,
  PEER,
  peerCalls,
  peerOpensTunnel,
  sccrqAvps,
  sends,
  sendsNo,
} from '../../support/engine-spec.js'
import { addr } from '../../support/sim.js'

const LNS = { role: 'LNS' } as const
const sccrqFrom = (peerTunnel: number, from = PEER) =>
  datagram({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, type: MT.SCCRQ, avps: sccrqAvps(peerTunnel) }, from)
const icrq = (ns: number, peerSession: number) => (e: Parameters<typeof onlyTunnel>[0]) =>
  datagram({
    tunnelId: onlyTunnel(e),
    sessionId: 0,
    ns,
    nr: ns - 1, // acks all we sent (SCCRP, then one ICRP or CDN per ICRQ): slow start lets the next out
    type: MT.ICRQ,
    avps: { assignedSessionId: peerSession, callSerialNumber: ns },
  })
/** A StopCCN 2/4 for the peer's tunnel `peerTunnel` (RFC 2661 §4.4.2: general error, no resources). */
const refusedWith24 =
  (peerTunnel: number) =>
  (m: ControlMessage): void => {
    expect(m.tunnelId).toBe(peerTunnel)
    expect(m.avps.resultCode).toMatchObject({ result: 2, error: 4 })
  }

describe('overload limits', () => {
  it('maxTunnels: a new SCCRQ beyond the cap gets one StopCCN 2/4 and no tunnel; within it, SCCRP', () => {
    const s = given(
      { ...LNS, maxTunnels: 2 },
      sccrqFrom(1, addr('127.0.0.31')),
      sccrqFrom(2, addr('127.0.0.32')),
    )
    expect(s.engine.tunnels.size).toBe(2)
    s.when(sccrqFrom(3, addr('127.0.0.33'))).then(sends(MT.StopCCN, refusedWith24(3)), sendsNo(MT.SCCRP))
    expect(s.engine.tunnels.size).toBe(2) // nothing kept for the refused one (no retransmission)
    expect(s.engine.stats.refusedTunnelCap).toBe(1)
  })

  it('maxHalfOpenPerSource: a source holding its cap of half-open tunnels is refused; another source and an SCCCN free room', () => {
    const A = addr('127.0.0.51', 1701)
    const A2 = addr('127.0.0.51', 1702) // same host, another port: the same source address
    const s = given({ ...LNS, maxHalfOpenPerSource: 2 }, sccrqFrom(1, A), sccrqFrom(2, A2))
    s.when(sccrqFrom(3, addr('127.0.0.51', 1703))).then(
      sends(MT.StopCCN, refusedWith24(3)),
      sendsNo(MT.SCCRP),
    )
    expect(s.engine.stats.refusedHalfOpen).toBe(1)
    s.when(sccrqFrom(4, addr('127.0.0.52'))).then(sends(MT.SCCRP)) // another source
    // The first tunnel from A completes (SCCCN): A holds one half-open tunnel, room for one more.
    const first = [...s.engine.tunnels.values()].find((t) => t.channel.peerTunnelId === 1)
    if (first === undefined) throw new Error('no tunnel')
    s.when(datagram({ tunnelId: first.localId, sessionId: 0, ns: 1, nr: 1, type: MT.SCCCN, avps: {} }, A))
    expect(first.state).toBe('established')
    s.when(sccrqFrom(5, addr('127.0.0.51', 1705))).then(sends(MT.SCCRP))
    expect(s.engine.stats.refusedHalfOpen).toBe(1)
  })

  it('maxHalfOpen: the endpoint holding its cap of half-open tunnels refuses every source; a completed tunnel frees room by the next sweep (100 ms)', () => {
    const s = given(
      { ...LNS, maxHalfOpen: 2 },
      sccrqFrom(1, addr('127.0.0.61')),
      sccrqFrom(2, addr('127.0.0.62')),
    )
    s.when(sccrqFrom(3, addr('127.0.0.63'))).then(sends(MT.StopCCN, refusedWith24(3)), sendsNo(MT.SCCRP))
    expect(s.engine.stats.refusedHalfOpen).toBe(1)
    const first = [...s.engine.tunnels.values()].find((t) => t.channel.peerTunnelId === 1)
    if (first === undefined) throw new Error('no tunnel')
    s.when(
      datagram(
        { tunnelId: first.localId, sessionId: 0, ns: 1, nr: 1, type: MT.SCCCN, avps: {} },
        addr('127.0.0.61'),
      ),
    )
    expect(first.state).toBe('established')
    // Swept at most every 100 ms: right after the SCCCN the count is the last sweep's.
    s.when(sccrqFrom(4, addr('127.0.0.64'))).then(sends(MT.StopCCN))
    s.when(sccrqFrom(5, addr('127.0.0.65')), 100).then(sends(MT.SCCRP))
    expect(s.engine.stats.refusedHalfOpen).toBe(2)
    s.when(sccrqFrom(6, addr('127.0.0.66')), 100).then(sends(MT.StopCCN))
  })

  it('SCCRQ token bucket: the burst passes, the next is refused (StopCCN 2/4), time refills it', () => {
    const s = given({ ...LNS, admission: { sccrq: { perSecond: 10, burst: 3 } } })
    for (let i = 1; i <= 3; i++) s.when(sccrqFrom(i, addr(`127.0.0.${40 + i}`))).then(sends(MT.SCCRP))
    s.when(sccrqFrom(4, addr('127.0.0.44'))).then(sends(MT.StopCCN, refusedWith24(4)))
    expect(s.engine.stats.refusedSccrqRate).toBe(1)
    // 100 ms at 10/s: one token back.
    s.when(sccrqFrom(5, addr('127.0.0.45')), 100).then(sends(MT.SCCRP))
    s.when(sccrqFrom(6, addr('127.0.0.46'))).then(sends(MT.StopCCN))
    expect(s.engine.tunnels.size).toBe(4)
  })

  it('a retransmitted SCCRQ is not a new admission: it finds its tunnel, takes no token', () => {
    const s = given({ ...LNS, admission: { sccrq: { perSecond: 1, burst: 1 } } }, sccrqFrom(7))
    s.when(sccrqFrom(7), 1000).then(sendsNo(MT.StopCCN))
    expect(s.engine.stats.refusedSccrqRate).toBe(0)
    expect(s.engine.tunnels.size).toBe(1)
  })

  it('ICRQ token bucket: beyond the burst an ICRQ gets CDN 2/4 and no session; the tunnel stays', () => {
    const s = given({ ...LNS, admission: { icrq: { perSecond: 1, burst: 2 } } }, ...peerOpensTunnel())
    s.when(icrq(2, 0x101)).then(sends(MT.ICRP))
    s.when(icrq(3, 0x102)).then(sends(MT.ICRP))
    s.when(icrq(4, 0x103)).then(
      sends(MT.CDN, (m) => expect(m.avps.resultCode).toMatchObject({ result: 2, error: 4 })),
      sendsNo(MT.StopCCN),
    )
    expect(s.engine.stats.refusedIcrqRate).toBe(1)
    expect([...s.engine.tunnels.values()][0]?.sessions.size).toBe(2)
    s.when(icrq(5, 0x104), 1000).then(sends(MT.ICRP))
  })

  it("session set-up timeout: a call left at ICRP is cleared with CDN 2/6 (an LNS; 10 is the LAC's) when its time is up", () => {
    const zlb = (e: Parameters<typeof onlyTunnel>[0]) =>
      datagram({ tunnelId: onlyTunnel(e), sessionId: 0, ns: 3, nr: 2, type: null, avps: {} })
    const s = given({ ...LNS, sessionSetupMs: 5000 }, ...peerOpensTunnel(), icrq(2, 0x201), zlb)
    expect([...s.engine.tunnels.values()][0]?.sessions.size).toBe(1)
    s.whenTimersUntil((o) => o.sent.some((m) => m.type === MT.CDN)).then(
      sends(MT.CDN, (m) => expect(m.avps.resultCode).toMatchObject({ result: 2, error: 6 })),
    )
    expect(s.now).toBeGreaterThanOrEqual(5000)
    expect([...s.engine.tunnels.values()][0]?.sessions.size).toBe(0)
    expect(s.engine.stats.sessionSetupTimeouts).toBe(1)
    expect([...s.engine.tunnels.values()][0]?.state).toBe('established')
  })

  it('session set-up timeout: an established call is never cleared by it', () => {
    const s = given({ ...LNS, sessionSetupMs: 5000 }, ...peerOpensTunnel(), ...peerCalls(), advance(60_000))
    s.when((e) => ({ _tag: 'Timer', tunnelId: onlyTunnel(e) })).then(sendsNo(MT.CDN))
    expect([...s.engine.tunnels.values()][0]?.sessions.size).toBe(1)
    expect(s.engine.stats.sessionSetupTimeouts).toBe(0)
  })

  it('a token bucket refills at its rate, never past its burst', () => {
    const b = { tokens: 2, at: Number.NEGATIVE_INFINITY, rate: { perSecond: 4, burst: 2 } }
    expect([take(b, 0), take(b, 0), take(b, 0)]).toEqual([true, true, false])
    expect(take(b, 250)).toBe(true) // 250 ms at 4/s: one token
    expect(take(b, 250)).toBe(false)
    expect([take(b, 100_000), take(b, 100_000), take(b, 100_000)]).toEqual([true, true, false])
    expect(take(null, 0)).toBe(true)
  })
})
