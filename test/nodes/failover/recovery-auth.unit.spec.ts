// RFC 4951 §5.4 and §8 on the remote endpoint (engine as DUT, scripted test peer TP): a recovery
// SCCRQ must come from the old tunnel's peer address and UDP port, and the old tunnel is frozen
// (reset) only once the recovery tunnel has authenticated, on a valid SCCCN. Each test names its FO id.
import { describe, expect, it } from 'vitest'
import type { EngineConfig } from '../../../nodes/engine/types.js'
import {
  type ControlMessage,
  challengeResponse,
  encodeControl,
  MessageType as MT,
  type OutgoingControl,
} from '../../../nodes/wire/index.js'
import { addr } from '../../support/sim.js'
import { FO, recoverySccrqAvps, sccrqAvps, TP_ADDR, Tp, withFailoverTunnel } from '../engine/tp.js'

const SECRET = { ref: 'lab', secret: new TextEncoder().encode('s3cret') }
const AUTH: Partial<EngineConfig> = { secretFor: (h) => (h === 'tp' ? SECRET : null), challenge: true }
const RECOVERY_TP_TUNNEL = 0x0a0a

/** One control message from TP with explicit sequence numbers (TP speaks on two tunnels). */
const ctl = (
  tp: Tp,
  m: Pick<OutgoingControl, 'tunnelId' | 'ns' | 'nr' | 'type' | 'avps'>,
  from = TP_ADDR,
): ControlMessage[] => tp.input({ _tag: 'Datagram', from, bytes: encodeControl({ sessionId: 0, ...m }) })

/** Given: an authenticated (challenged both ways) failover tunnel from TP with one call. */
const withAuthenticatedTunnel = () => {
  const tp = new Tp({ failover: FO, ...AUTH })
  const [sccrp] = tp.send({
    tunnelId: 0,
    sessionId: 0,
    type: MT.SCCRQ,
    avps: { ...sccrqAvps(0x0909), failoverCapability: FO },
  })
  const tid = sccrp?.avps.assignedTunnelId as number
  tp.dutTunnel = tid
  tp.send({
    tunnelId: tid,
    sessionId: 0,
    type: MT.SCCCN,
    avps: {
      challengeResponse: challengeResponse(MT.SCCCN, SECRET.secret, sccrp?.avps.challenge as Uint8Array),
    },
  })
  expect(tp.dut.tunnels.get(tid)?.authenticated).toBe(true)
  tp.openSession(tid, 0x0303)
  return { tp, tid }
}

/** TP's old-tunnel sequence state, kept apart from the recovery tunnel's. */
const oldSeq = (tp: Tp) => ({ ns: tp.ns, nr: tp.nr })

/**
 * Then: the old tunnel answers a HELLO normally (not discarded as awaiting its reset): it takes
 * it in sequence and acknowledges it.
 */
const answersHello = (tp: Tp, tid: number, seq: { ns: number; nr: number }) => {
  const fx = tp.effects.length
  ctl(tp, { tunnelId: tid, ns: seq.ns, nr: seq.nr, type: MT.HELLO, avps: {} })
  seq.ns = (seq.ns + 1) & 0xffff
  const dropped = tp.effects.slice(fx).filter((f) => f._tag === 'Dropped')
  expect(dropped).toEqual([])
  const old = tp.dut.tunnels.get(tid)
  expect(old?.recovering).toBe(false)
  expect(old?.state).toBe('established')
  expect(old?.channel.nr).toBe(seq.ns)
  const acks = tp.advance(1000).filter((m) => m.tunnelId === 0x0909 && m.nr === seq.ns)
  expect(acks.length).toBeGreaterThan(0)
}

/** TP's recovery SCCRQ for the DUT's old tunnel `tid`, from `from`. */
const recoverySccrq = (tp: Tp, tid: number, from = TP_ADDR, extra: OutgoingControl['avps'] = {}) =>
  ctl(
    tp,
    {
      tunnelId: 0,
      ns: 0,
      nr: 0,
      type: MT.SCCRQ,
      avps: { ...recoverySccrqAvps({ dutOld: tid, tpTunnel: RECOVERY_TP_TUNNEL }), ...extra },
    },
    from,
  )

const recovered = (tp: Tp) =>
  tp.effects.some((f) => f._tag === 'Emit' && (f.event as { type?: string }).type === 'TunnelRecovered')

describe('recovery SCCRQ source and authentication (RFC 4951 §5.4, §8)', () => {
  it('FO-54: spoofed-port recovery SCCRQ leaves the tunnel answering HELLO', () => {
    // Given a healthy failover tunnel from TP (127.0.0.9:1701) with one call
    const { tp, tid, sid } = withFailoverTunnel()
    const seq = oldSeq(tp)
    const discarded = tp.dut.stats.discarded
    const tunnels = tp.dut.tunnels.size
    // When a recovery SCCRQ for it arrives from TP's address but another UDP port
    const fx = tp.effects.length
    const out = recoverySccrq(tp, tid, addr(TP_ADDR.host, 4242))
    // Then it is silently dropped and counted: no SCCRP, no StopCCN, no recovery tunnel
    expect(out).toEqual([])
    expect(tp.dut.stats.discarded).toBe(discarded + 1)
    const dropped = tp.effects.slice(fx).find((f) => f._tag === 'Dropped')
    expect(dropped).toMatchObject({ reason: expect.stringMatching(/recovery SCCRQ .* wrong source port/) })
    expect(tp.dut.tunnels.size).toBe(tunnels)
    // And the old tunnel is untouched: not recovering, its call kept, answering HELLO
    const old = tp.dut.tunnels.get(tid)
    expect(old?.recoveryTunnel).toBeNull()
    expect(old?.sessions.has(sid)).toBe(true)
    answersHello(tp, tid, seq)
  })

  it('FO-14, FO-28: a recovery SCCRQ from the right address and port keeps the old tunnel working until its SCCCN', () => {
    // Given an authenticated failover tunnel and TP's recovery SCCRQ from the right address and port
    const { tp, tid } = withAuthenticatedTunnel()
    const seq = oldSeq(tp)
    const [sccrp] = recoverySccrq(tp, tid)
    expect(sccrp?.type).toBe(MT.SCCRP)
    expect(sccrp?.avps.challenge).toBeDefined()
    // Then before the SCCCN the old tunnel still answers HELLO and keeps its call
    answersHello(tp, tid, seq)
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(1)
  })

  it('FO-14: a recovery SCCRQ from the right address and port with a bad challenge response leaves the old tunnel answering HELLO', () => {
    // Given an authenticated failover tunnel and TP's recovery SCCRQ, answered with a challenge
    const { tp, tid } = withAuthenticatedTunnel()
    const seq = oldSeq(tp)
    const [sccrp] = recoverySccrq(tp, tid)
    const rtId = sccrp?.avps.assignedTunnelId as number
    // When TP's SCCCN carries a response made with another secret
    const wrong = new TextEncoder().encode('other')
    const out = ctl(tp, {
      tunnelId: rtId,
      ns: 1,
      nr: 1,
      type: MT.SCCCN,
      avps: { challengeResponse: challengeResponse(MT.SCCCN, wrong, sccrp?.avps.challenge as Uint8Array) },
    })
    // Then the recovery tunnel is stopped (not authorized), nothing is said on the old tunnel
    expect(out.find((m) => m.type === MT.StopCCN)).toMatchObject({ tunnelId: RECOVERY_TP_TUNNEL })
    expect(out.filter((m) => m.tunnelId === 0x0909)).toEqual([])
    expect(recovered(tp)).toBe(false)
    // And the old tunnel is as before: its call kept, answering HELLO
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(1)
    answersHello(tp, tid, seq)
  })

  it('FO-28: a recovery tunnel that never completes (no SCCCN, retransmissions run out) leaves the old tunnel answering HELLO', () => {
    // Given an authenticated failover tunnel and TP's recovery SCCRQ, answered by the DUT
    const { tp, tid } = withAuthenticatedTunnel()
    const seq = oldSeq(tp)
    const [sccrp] = recoverySccrq(tp, tid)
    const rtId = sccrp?.avps.assignedTunnelId as number
    // When TP never sends the SCCCN and the SCCRP's retransmissions run out
    tp.advance(40_000)
    expect(tp.dut.tunnels.get(rtId)?.state ?? 'gone').not.toBe('wait-ctl-conn')
    // Then the old tunnel is as before: not recovered, its call kept, answering HELLO
    expect(recovered(tp)).toBe(false)
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(1)
    answersHello(tp, tid, seq)
  })

  it('FO-14, FO-23: with the right challenge response the old tunnel is reset and recovered as before', () => {
    // Given an authenticated failover tunnel and TP's recovery SCCRQ, answered with SCS and a challenge
    const { tp, tid } = withAuthenticatedTunnel()
    const [sccrp] = recoverySccrq(tp, tid)
    const rtId = sccrp?.avps.assignedTunnelId as number
    const scs = sccrp?.avps.suggestedControlSequence
    expect(scs).toBeDefined()
    // When TP's SCCCN answers the challenge with the old tunnel's secret
    ctl(tp, {
      tunnelId: rtId,
      ns: 1,
      nr: 1,
      type: MT.SCCCN,
      avps: {
        challengeResponse: challengeResponse(MT.SCCCN, SECRET.secret, sccrp?.avps.challenge as Uint8Array),
      },
    })
    // Then the old tunnel is reset to the mirrored SCS (its FSQ) and reported recovered
    expect(recovered(tp)).toBe(true)
    expect(tp.sent.find((m) => m.type === MT.FSQ)).toMatchObject({
      tunnelId: 0x0909,
      ns: scs?.nr,
      nr: scs?.ns,
    })
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(1)
  })

  it('FO-54: a spoofed-port recovery SCCRQ carrying a challenge gets no answer, so no challenge response leaks', () => {
    // Given a healthy authenticated tunnel; When a spoofed-port recovery SCCRQ carries a challenge
    const { tp, tid } = withAuthenticatedTunnel()
    const seq = oldSeq(tp)
    const out = recoverySccrq(tp, tid, addr(TP_ADDR.host, 1702), { challenge: new Uint8Array(16).fill(7) })
    // Then no SCCRP answers it (no challenge response leaks to the spoofer) and HELLO is answered
    expect(out).toEqual([])
    answersHello(tp, tid, seq)
  })
  it('FO-29: the Recovery Time running out while the recovery tunnel awaits its SCCCN does not clear the old tunnel', () => {
    // Given a failover tunnel whose peer went silent: retries out, kept for its Recovery Time
    const tp = new Tp({ failover: FO })
    const tid = tp.openTunnel({ failoverCapability: { ...FO, recoveryTimeMs: 100_000 } })
    tp.advance(100_000)
    const deadline = tp.dut.tunnels.get(tid)?.recoveryDeadline as number
    expect(deadline).toBeGreaterThan(tp.now)
    // And the peer's recovery SCCRQ arrives shortly before the Recovery Time ends
    tp.advance(deadline - tp.now - 2000)
    const [sccrp] = recoverySccrq(tp, tid)
    expect(sccrp?.type).toBe(MT.SCCRP)
    // When the Recovery Time runs out with the SCCCN still to come
    tp.advance(5000)
    // Then the old tunnel is kept, and the SCCCN recovers it
    expect(tp.dut.tunnels.get(tid)?.state).toBe('established')
    ctl(tp, { tunnelId: sccrp?.avps.assignedTunnelId as number, ns: 1, nr: 1, type: MT.SCCCN, avps: {} })
    expect(recovered(tp)).toBe(true)
    expect(tp.dut.tunnels.get(tid)?.recoveryDeadline).toBeNull()
  })
})
