// RFC 4951 rules the first failover specs leave open, against a scripted test peer (TP): tie
// breaker scope (§5.6), version and address checks on recovery SCCRQs, session synchronisation
// details (§5.9), the Recovery timer (§5.2) and the D bit (§6). Each test names its FO id.
import { describe, expect, it } from 'vitest'
import type { RecoverableTunnel, Rng } from '../../../nodes/engine/types.js'
import {
  type ControlMessage,
  challengeResponse,
  encodeControl,
  MessageType,
  type OutgoingControl,
} from '../../../nodes/wire/index.js'
import { addr } from '../../support/sim.js'
import { FO, oldTunnel, recoverySccrqAvps, sccrqAvps, TP_ADDR, Tp, withFailoverTunnel } from '../engine/tp.js'

const SECRET = { ref: 'lab', secret: new TextEncoder().encode('s3cret') }
const LOWEST = new Uint8Array(8) // a Tie Breaker nobody beats
const HIGHEST = new Uint8Array(8).fill(0xff)

/** One control message from TP with explicit sequence numbers (TP speaks on several tunnels). */
const ctl = (
  tp: Tp,
  m: Pick<OutgoingControl, 'tunnelId' | 'ns' | 'nr' | 'type' | 'avps'> & { sessionId?: number },
  from = TP_ADDR,
): ControlMessage[] => tp.input({ _tag: 'Datagram', from, bytes: encodeControl({ sessionId: 0, ...m }) })

/** The DUT recovers `old` toward TP; returns the DUT's recovery SCCRQ. */
const recover = (tp: Tp, old = oldTunnel()): ControlMessage => {
  const sent = tp.input({ _tag: 'Recover', tunnel: old })
  const sccrq = sent.find((m) => m.type === MessageType.SCCRQ && m.avps.tunnelRecovery !== undefined)
  if (sccrq === undefined) throw new Error('no recovery SCCRQ')
  return sccrq
}

/** TP's recovery SCCRQ for its old tunnel 0x0909 (the DUT's `dutOld`) on a new tunnel of TP's. */
const tpRecovers = (
  tp: Tp,
  dutOld: number,
  o: { tie?: Uint8Array; extra?: OutgoingControl['avps']; from?: typeof TP_ADDR } = {},
) =>
  ctl(
    tp,
    {
      tunnelId: 0,
      ns: 0,
      nr: 0,
      type: MessageType.SCCRQ,
      avps: { ...recoverySccrqAvps({ dutOld, tie: o.tie ?? HIGHEST }), ...o.extra },
    },
    o.from,
  )

/** TP answers the DUT's recovery SCCRQ with an SCCRP suggesting Ns/Nr. */
const answer = (tp: Tp, sccrq: ControlMessage, scs = { ns: 5, nr: 9 }, extra: OutgoingControl['avps'] = {}) =>
  ctl(tp, {
    tunnelId: sccrq.avps.assignedTunnelId as number,
    ns: 0,
    nr: 1,
    type: MessageType.SCCRP,
    avps: { ...sccrqAvps(0x0b0b), suggestedControlSequence: scs, ...extra },
  })

/** TP acknowledges the DUT's old-tunnel messages up to `nr` (after an SCCRP suggesting 5/9). */
const ackOld = (tp: Tp, nr: number) => ctl(tp, { tunnelId: 0x0707, ns: 9, nr, type: null, avps: {} })

const withTunnel = withFailoverTunnel

/** TP recovers its old tunnel 0x0909 with the DUT as remote endpoint; TP's old-tunnel Ns/Nr follow. */
const recoverFromTp = (tp: Tp, tid: number) => {
  const [sccrp] = tpRecovers(tp, tid)
  const scs = sccrp?.avps.suggestedControlSequence
  if (sccrp === undefined || scs === undefined) throw new Error('no SCCRP with SCS')
  const after = ctl(tp, {
    tunnelId: sccrp.avps.assignedTunnelId as number,
    ns: 1,
    nr: 1,
    type: MessageType.SCCCN,
    avps: {},
  })
  tp.ns = scs.ns
  return { scs, after }
}

describe('tie breaker scope (RFC 4951 §5.6)', () => {
  it('FO-31: a tie lost among normal tunnels never terminates a recovery tunnel', () => {
    const tp = new Tp({ failover: FO, tieBreaker: true })
    const sccrq = recover(tp)
    const [normal] = tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    expect(normal?.avps.tieBreaker).toBeDefined()
    // TP's crossing normal SCCRQ carries the lowest Tie Breaker: our normal attempt loses.
    const reply = ctl(tp, {
      tunnelId: 0,
      ns: 0,
      nr: 0,
      type: MessageType.SCCRQ,
      avps: { ...sccrqAvps(0x0c0c), tieBreaker: LOWEST },
    })
    expect(reply.map((m) => m.type)).toEqual([MessageType.SCCRP])
    expect(tp.dut.tunnels.has(normal?.avps.assignedTunnelId as number)).toBe(false)
    const rt = tp.dut.tunnels.get(sccrq.avps.assignedTunnelId as number)
    expect(rt?.recoveryOf).toBe(0x0707)
    // The recovery goes on: TP's SCCRP completes it and the old tunnel runs at the SCS.
    const after = answer(tp, sccrq)
    expect(after.find((m) => m.type === MessageType.FSQ)).toMatchObject({ tunnelId: 0x0909, ns: 5, nr: 9 })
  })

  it('FO-32: crossing recovery SCCRQs for different old tunnels both proceed', () => {
    const { tp, tid } = withTunnel()
    // The DUT recovers old tunnel 0x0707 (toward TP's 0x0808) while TP recovers its 0x0909.
    const ours = recover(tp, oldTunnel({ remoteTunnelId: 0x0808 }))
    const [sccrp] = tpRecovers(tp, tid, { tie: LOWEST })
    expect(sccrp?.type).toBe(MessageType.SCCRP)
    expect(sccrp?.avps.suggestedControlSequence).toBeDefined()
    expect(tp.dut.tunnels.get(ours.avps.assignedTunnelId as number)?.state).toBe('wait-ctl-reply')
    const after = answer(tp, ours)
    expect(after.find((m) => m.type === MessageType.FSQ)?.tunnelId).toBe(0x0808)
  })

  it('FO-33: crossing recovery SCCRQs for the same old tunnel: the loser answers the winner as remote endpoint', () => {
    const tp = new Tp({ failover: FO })
    const ours = recover(tp)
    // TP (the other side failed over too) recovers the same old tunnel with the lower Tie Breaker.
    const [sccrp] = tpRecovers(tp, 0x0707, { tie: LOWEST })
    expect(sccrp?.type).toBe(MessageType.SCCRP)
    const scs = sccrp?.avps.suggestedControlSequence
    expect(scs).toBeDefined()
    // Our own recovery tunnel is gone, silently.
    expect(tp.dut.tunnels.has(ours.avps.assignedTunnelId as number)).toBe(false)
    expect(tp.sent.filter((m) => m.type === MessageType.StopCCN)).toEqual([])
    const after = ctl(tp, {
      tunnelId: sccrp?.avps.assignedTunnelId as number,
      ns: 1,
      nr: 1,
      type: MessageType.SCCCN,
      avps: {},
    })
    expect(after.find((m) => m.type === MessageType.FSQ)).toMatchObject({
      tunnelId: 0x0909,
      ns: scs?.nr,
      nr: scs?.ns,
    })
  })

  it('FO-33: we win the tie: the peer recovery SCCRQ is discarded and ours goes on', () => {
    const tp = new Tp({ failover: FO })
    const ours = recover(tp)
    const out = tpRecovers(tp, 0x0707)
    expect(out.filter((m) => m.type !== null)).toEqual([])
    const after = answer(tp, ours, { ns: 7, nr: 11 })
    expect(after.find((m) => m.type === MessageType.FSQ)).toMatchObject({ tunnelId: 0x0909, ns: 7, nr: 11 })
  })

  it('a peer that failed over too may recover a tunnel still queued for our own recovery', () => {
    const tp = new Tp({ failover: FO })
    tp.input({ _tag: 'QueueRecovery', tunnels: [oldTunnel()] })
    expect(tp.sent).toEqual([])
    const [sccrp] = tpRecovers(tp, 0x0707, { tie: LOWEST })
    expect(sccrp?.avps.suggestedControlSequence).toBeDefined()
    ctl(tp, {
      tunnelId: sccrp?.avps.assignedTunnelId as number,
      ns: 1,
      nr: 1,
      type: MessageType.SCCCN,
      avps: {},
    })
    expect(tp.dut.tunnels.get(0x0707)?.sessions.size).toBe(1)
    // Our paced recovery reaches it later: nothing more to do.
    expect(tp.input({ _tag: 'Recover', tunnel: oldTunnel() })).toEqual([])
  })
})

describe('a recovery endpoint that dies mid-recovery (double failover)', () => {
  it('a new recovery SCCRQ that reuses the dead one’s recovery tunnel id is a new tunnel, not a retransmission', () => {
    const { tp, tid } = withTunnel()
    const sccrq = (tie: number) => tpRecovers(tp, tid, { tie: new Uint8Array(8).fill(tie) })
    const [first] = sccrq(1)
    expect(first?.type).toBe(MessageType.SCCRP)
    // The same SCCRQ again is a retransmission: acknowledged, not answered twice.
    expect(sccrq(1).filter((m) => m.type !== null)).toEqual([])
    // That recovery endpoint died before its SCCCN; the next one happens to pick the same id.
    const [second] = sccrq(2)
    expect(second?.type).toBe(MessageType.SCCRP)
    expect(second?.avps.assignedTunnelId).not.toBe(first?.avps.assignedTunnelId)
    expect(tp.dut.tunnels.has(first?.avps.assignedTunnelId as number)).toBe(false)
    const after = ctl(tp, {
      tunnelId: second?.avps.assignedTunnelId as number,
      ns: 1,
      nr: 1,
      type: MessageType.SCCCN,
      avps: {},
    })
    expect(after.find((m) => m.type === MessageType.FSQ)?.tunnelId).toBe(0x0909)
  })
})

describe('recovery SCCRQ checks (RFC 4951 §5.3, §5.4, §8)', () => {
  it('FO-12: the recovery SCCRQ uses the old tunnel version: header Ver=2, Protocol Version 1.0', () => {
    const tp = new Tp({ failover: FO })
    const sccrq = recover(tp)
    const bytes = tp.effects.find((f) => f._tag === 'Send')
    expect(bytes?._tag === 'Send' && (bytes.bytes[1] as number) & 0x0f).toBe(2)
    expect(sccrq.avps.protocolVersion).toEqual({ ver: 1, rev: 0 })
  })

  it('FO-14: the recovery tunnel is authenticated with the old tunnel secret', () => {
    const tp = new Tp({ failover: FO, secretFor: (h) => (h === 'tp' ? SECRET : null), challenge: true })
    const sccrq = recover(tp, oldTunnel({ authenticated: true }))
    const ourChallenge = sccrq.avps.challenge as Uint8Array
    expect(ourChallenge).toBeDefined()
    const tpChallenge = new Uint8Array(16).fill(7)
    const after = answer(
      tp,
      sccrq,
      { ns: 5, nr: 9 },
      {
        challenge: tpChallenge,
        challengeResponse: challengeResponse(MessageType.SCCRP, SECRET.secret, ourChallenge),
      },
    )
    const scccn = after.find((m) => m.type === MessageType.SCCCN)
    const got = [...(scccn?.avps.challengeResponse ?? [])]
    expect(got).toEqual([...challengeResponse(MessageType.SCCCN, SECRET.secret, tpChallenge)])
    const other = new TextEncoder().encode('other')
    expect(got).not.toEqual([...challengeResponse(MessageType.SCCCN, other, tpChallenge)])
  })

  it('FO-14: an SCCRP whose digest fails the old secret ends the recovery, silently on the old tunnel', () => {
    const tp = new Tp({ failover: FO, secretFor: (h) => (h === 'tp' ? SECRET : null), challenge: true })
    const sccrq = recover(tp, oldTunnel({ authenticated: true }))
    const wrong = new TextEncoder().encode('other')
    const after = answer(
      tp,
      sccrq,
      { ns: 5, nr: 9 },
      {
        challengeResponse: challengeResponse(MessageType.SCCRP, wrong, sccrq.avps.challenge as Uint8Array),
      },
    )
    expect(after.map((m) => m.type)).toContain(MessageType.StopCCN)
    expect(after.filter((m) => m.tunnelId === 0x0909)).toEqual([])
    expect(tp.dut.tunnels.has(0x0707)).toBe(false)
  })

  it('FO-18: a recovery in another L2TP version is not taken (v3 header discarded, other Protocol Version refused)', () => {
    const { tp, tid } = withTunnel()
    const bytes = encodeControl({
      tunnelId: 0,
      sessionId: 0,
      ns: 0,
      nr: 0,
      type: MessageType.SCCRQ,
      avps: recoverySccrqAvps({ dutOld: tid, tie: HIGHEST }),
    })
    const v3 = Uint8Array.from(bytes)
    v3[1] = ((v3[1] as number) & 0xf0) | 3
    const malformed = tp.dut.stats.malformed
    expect(tp.raw(v3)).toEqual([])
    expect(tp.dut.stats.malformed).toBe(malformed + 1)
    const out = tpRecovers(tp, tid, {
      extra: { assignedTunnelId: 0x0a0b, protocolVersion: { ver: 2, rev: 0 } },
    })
    expect(out.find((m) => m.type === MessageType.StopCCN)?.avps.resultCode?.message).toMatch(/version/)
    expect(tp.dut.tunnels.get(tid)?.recovering).toBe(false)
  })

  it('FO-54: a recovery SCCRQ from an address other than the old tunnel peer is refused with StopCCN', () => {
    const { tp, tid } = withTunnel()
    const out = tpRecovers(tp, tid, { from: addr('127.0.0.66', 1701) })
    expect(out.map((m) => m.type)).toEqual([MessageType.StopCCN])
    expect(tp.dut.tunnels.get(tid)?.recovering).toBe(false)
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(1)
  })
})

describe('session synchronisation (RFC 4951 §5.9)', () => {
  it('FO-35: a call asked for during the recovery goes out only after the reset and Step I', () => {
    const tp = new Tp({ role: 'LAC', failover: FO })
    const sccrq = recover(tp)
    const before = tp.sent.length
    tp.input({ _tag: 'OpenSession', tunnelId: 0x0707, direction: 'incoming' })
    tp.advance(500)
    expect(tp.sent.slice(before).filter((m) => m.type === MessageType.ICRQ)).toEqual([])
    const after = [...answer(tp, sccrq), ...ackOld(tp, 6)]
    const types = after.filter((m) => m.tunnelId === 0x0909).map((m) => m.type)
    expect(types).toEqual([MessageType.FSQ, MessageType.ICRQ])
    expect(after.find((m) => m.type === MessageType.ICRQ)).toMatchObject({ ns: 6, nr: 9 })
  })

  it('FO-39: other AVPs in an FSQ are ignored; the FSR still answers', () => {
    const { tp, tid, sid } = withTunnel()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.FSQ,
      avps: { hostName: 'tp', failoverSessionStates: [{ sessionId: 0x0303, remoteSessionId: sid }] },
    })
    expect(out.find((m) => m.type === MessageType.FSR)?.avps.failoverSessionStates).toEqual([
      { sessionId: sid, remoteSessionId: 0x0303 },
    ])
  })

  it('FO-44: a session paired with another remote id is kept, marked stale and queried by our own FSQ', () => {
    const { tp, tid, sid } = withTunnel()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.FSQ,
      avps: { failoverSessionStates: [{ sessionId: 0x0505, remoteSessionId: sid }] },
    })
    expect(out.map((m) => m.type)).toEqual([MessageType.FSR, MessageType.FSQ])
    expect(out[0]?.avps.failoverSessionStates).toEqual([{ sessionId: 0, remoteSessionId: 0x0505 }])
    expect(out[1]?.avps.failoverSessionStates).toEqual([{ sessionId: sid, remoteSessionId: 0x0303 }])
    expect(out.some((m) => m.type === MessageType.CDN)).toBe(false)
    expect(tp.dut.tunnels.get(tid)?.sessions.get(sid)?.stale).toBe(true)
    // TP does not know (sid, 0x0303) either: the session is cleared, silently.
    const fin = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.FSR,
      avps: { failoverSessionStates: [{ sessionId: 0, remoteSessionId: sid }] },
    })
    expect(fin.filter((m) => m.type !== null)).toEqual([])
    expect(tp.dut.tunnels.get(tid)?.sessions.has(sid)).toBe(false)
  })

  it('FO-47: before sync completes, an ICRQ reusing an established session remote id gets a CDN with our id', () => {
    const { tp, tid, sid } = withTunnel()
    const { after } = recoverFromTp(tp, tid)
    expect(after.find((m) => m.type === MessageType.FSQ)?.avps.failoverSessionStates).toEqual([
      { sessionId: sid, remoteSessionId: 0x0303 },
    ])
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: 0x0303, callSerialNumber: 2 },
    })
    const cdn = out.find((m) => m.type === MessageType.CDN)
    expect(cdn).toMatchObject({ sessionId: 0x0303 })
    expect(cdn?.avps.assignedSessionId).toBe(sid)
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(0)
    expect(tp.effects.some((f) => f._tag === 'Emit' && f.event.type === 'SessionClosed')).toBe(true)
  })

  it('FO-47: once synchronised, the same ICRQ is an ordinary new call', () => {
    const { tp, tid, sid } = withTunnel()
    recoverFromTp(tp, tid)
    tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.FSR,
      avps: { failoverSessionStates: [{ sessionId: 0x0303, remoteSessionId: sid }] },
    })
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: 0x0404, callSerialNumber: 2 },
    })
    expect(out.map((m) => m.type)).toEqual([MessageType.ICRP])
  })

  it('FO-48: a session id released lately is not handed out again', () => {
    const { tp, tid, sid } = withTunnel()
    tp.send({
      tunnelId: tid,
      sessionId: sid,
      type: MessageType.CDN,
      avps: { assignedSessionId: 0x0303, resultCode: { result: 1, error: null, message: null } },
    })
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(0)
    // An RNG that offers the released id first: a random pick alone would take it.
    const offer = [sid >> 8, sid & 0xff, 0x12, 0x34]
    ;(tp as unknown as { rng: Rng }).rng = {
      bytes: (n) =>
        Uint8Array.from({ length: n }, () => (offer.length > 0 ? (offer.shift() as number) : 0x42)),
    }
    const [icrp] = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: 0x0404, callSerialNumber: 2 },
    })
    expect(icrp?.avps.assignedSessionId).toBe(0x1234)
  })
})

describe('session ids after a failover (RFC 4951 §5.9)', () => {
  it('FO-48: the replacement avoids the session ids its predecessor released lately (from the log)', () => {
    const tp = new Tp({ failover: FO })
    const sccrq = recover(tp, oldTunnel({ releasedSessionIds: [0x5151, 0x5252] }))
    answer(tp, sccrq)
    ackOld(tp, 6)
    // An RNG that offers the released ids first: a random pick alone would take them.
    const offer = [0x51, 0x51, 0x52, 0x52, 0x12, 0x34]
    ;(tp as unknown as { rng: Rng }).rng = {
      bytes: (n) =>
        Uint8Array.from({ length: n }, () => (offer.length > 0 ? (offer.shift() as number) : 0x42)),
    }
    const [icrp] = ctl(tp, {
      tunnelId: 0x0707,
      ns: 9,
      nr: 6,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: 0x0404, callSerialNumber: 2 },
    })
    expect(icrp?.type).toBe(MessageType.ICRP)
    expect(icrp?.avps.assignedSessionId).toBe(0x1234)
  })
})

describe('the Recovery timer and the D bit (RFC 4951 §5.2, §6)', () => {
  it('FO-30: a late ack stops the Recovery timer; a new silence starts a new one', () => {
    const tp = new Tp({ failover: FO })
    const tid = tp.openTunnel({ failoverCapability: { ...FO, recoveryTimeMs: 100_000 } })
    const alive = () => tp.dut.tunnels.get(tid)?.state === 'established'
    tp.advance(61_000) // the DUT's HELLO at 60 s goes unanswered: TP is silent
    tp.advance(40_000) // retransmissions run out at ~91 s; the 100 s Recovery Time has not
    expect(alive()).toBe(true)
    // TP was only unreachable: its ZLB acknowledges the HELLO at ~101 s. The timer stops.
    tp.send({ tunnelId: tid, sessionId: 0, type: null, avps: {} })
    expect(tp.dut.tunnels.get(tid)?.recoveryDeadline).toBeNull()
    // A new silence: HELLO at ~161 s, retries out at ~192 s, new Recovery Time ends ~261 s.
    // The old timer (from 60 s) would have cleared the tunnel at ~192 s.
    tp.advance(130_000)
    expect(alive()).toBe(true)
    tp.advance(40_000)
    expect(alive()).toBe(false)
  })

  it('FO-52: without the D bit on both sides the recovery endpoint clears sequenced sessions with CDN', () => {
    const sessions: RecoverableTunnel['sessions'] = [
      { localSessionId: 1, remoteSessionId: 2, callSerial: 1, direction: 'incoming', sequencing: true },
      { localSessionId: 3, remoteSessionId: 4, callSerial: 2, direction: 'incoming', sequencing: false },
    ]
    const run = (ours: typeof FO, peers: typeof FO) => {
      const tp = new Tp({ failover: ours })
      const after = answer(tp, recover(tp, oldTunnel({ peerFailover: peers, sessions })))
      return { tp, after: [...after, ...ackOld(tp, 6), ...ackOld(tp, 7)] }
    }
    const cOnly = { control: true, data: false, recoveryTimeMs: 30_000 }
    for (const [ours, peers] of [
      [FO, cOnly],
      [cOnly, FO],
    ] as const) {
      const { tp, after } = run(ours, peers)
      const cdns = after.filter((m) => m.type === MessageType.CDN)
      expect(cdns.map((m) => [m.sessionId, m.avps.assignedSessionId])).toEqual([[2, 1]])
      expect(after.find((m) => m.type === MessageType.FSQ)?.avps.failoverSessionStates).toEqual([
        { sessionId: 3, remoteSessionId: 4 },
      ])
      expect([...(tp.dut.tunnels.get(0x0707)?.sessions.keys() ?? [])]).toEqual([3])
    }
    const { after } = run(FO, FO)
    expect(after.filter((m) => m.type === MessageType.CDN)).toEqual([])
  })
})
