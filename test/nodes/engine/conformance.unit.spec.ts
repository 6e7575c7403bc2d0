// RFC 2661 conformance of the engine against a scripted test peer. Each test names its L2 id.

import { describe, expect, it } from 'vitest'
import { encodeControl, MessageType as MT } from '../../../nodes/wire/index.js'
import { oldTunnel, sccrqAvps, TP_ADDR, Tp } from './tp.js'

const STOPCCN = MT.StopCCN
const CDN = MT.CDN

describe('RFC 2661 conformance (engine as DUT)', () => {
  it('L2-02: reserved header bits are ignored on receipt', () => {
    const tp = new Tp()
    const b = encodeControl({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
    b[0] = (b[0] as number) | 0x34
    b[1] = (b[1] as number) | 0xf0
    expect(tp.types(tp.raw(b))).toEqual([2])
  })

  it('L2-03: version 1 (L2F) and version 3 packets are discarded without a reply', () => {
    const tp = new Tp()
    for (const ver of [1, 3]) {
      const b = encodeControl({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
      b[1] = ((b[1] as number) & 0xf0) | ver
      expect(tp.raw(b)).toEqual([])
    }
    expect(tp.dut.stats.discarded).toBe(2)
    expect(tp.dut.tunnels.size).toBe(0)
  })

  it('L2-05, L2-06, L2-52: as initiator the DUT sends SCCRQ with Tunnel ID 0 to port 1701; later headers carry our ids; ICRQ and HELLO use Session ID 0', () => {
    const tp = new Tp({ role: 'LAC', channel: { ...new Tp().dut.config.channel, helloIntervalMs: 5000 } })
    const fx = tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    expect(fx[0]).toMatchObject({ type: MT.SCCRQ, tunnelId: 0, sessionId: 0 })
    const send = tp.effects.find((f) => f._tag === 'Send')
    expect(send?._tag === 'Send' && send.to.port).toBe(1701)
    const dutId = fx[0]?.avps.assignedTunnelId as number
    tp.ns = 0
    const afterSccrp = tp.send({ tunnelId: dutId, sessionId: 0, type: MT.SCCRP, avps: sccrqAvps(0x0707) })
    expect(afterSccrp[0]).toMatchObject({ type: MT.SCCCN, tunnelId: 0x0707 })
    tp.input({ _tag: 'OpenSession', tunnelId: dutId, direction: 'incoming' })
    const icrq = tp.sent.find((m) => m.type === MT.ICRQ)
    expect(icrq).toMatchObject({ tunnelId: 0x0707, sessionId: 0 })
    const dutSession = icrq?.avps.assignedSessionId as number
    const [iccn] = tp.send({
      tunnelId: dutId,
      sessionId: dutSession,
      type: MT.ICRP,
      avps: { assignedSessionId: 0x0606 },
    })
    expect(iccn).toMatchObject({ type: MT.ICCN, tunnelId: 0x0707, sessionId: 0x0606 })
    tp.send({ tunnelId: dutId, sessionId: 0, type: null, avps: {} }) // ZLB: everything acknowledged
    const hellos = tp.advance(6000).filter((m) => m.type === MT.HELLO)
    expect(hellos[0]).toMatchObject({ sessionId: 0, tunnelId: 0x0707 })
  })

  it('L2-07, L2-08: assigned ids are never 0 and not sequential', () => {
    const tp = new Tp()
    const ids: number[] = []
    for (let i = 1; i <= 200; i++) {
      const [sccrp] = tp.raw(
        encodeControl({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, type: MT.SCCRQ, avps: sccrqAvps(i) }),
      )
      ids.push(sccrp?.avps.assignedTunnelId as number)
    }
    expect(ids.every((id) => id > 0 && id <= 65535)).toBe(true)
    expect(new Set(ids).size).toBe(200)
    const sequential = ids.slice(1).filter((id, i) => id === (ids[i] as number) + 1).length
    expect(sequential).toBeLessThan(5)
  })

  it('L2-11: an unknown AVP with M=0 is ignored and the message processed', () => {
    const tp = new Tp()
    const out = tp.send({
      tunnelId: 0,
      sessionId: 0,
      type: MT.SCCRQ,
      avps: sccrqAvps(5),
      extra: [{ vendor: 9, type: 1, mandatory: false, value: new Uint8Array([1]) }],
    })
    expect(tp.types(out)).toEqual([2])
  })

  it('L2-12: an unknown AVP with M=1 in a tunnel message ends the tunnel: StopCCN result 2, error 8', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.HELLO,
      avps: {},
      extra: [{ vendor: 0, type: 200, mandatory: true, value: new Uint8Array() }],
    })
    expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode).toMatchObject({ result: 2, error: 8 })
  })

  it('L2-13: an unknown AVP with M=1 in a session message ends only that session (CDN), the tunnel stays', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.ICRQ,
      avps: { assignedSessionId: 3, callSerialNumber: 1 },
      extra: [{ vendor: 0, type: 200, mandatory: true, value: new Uint8Array() }],
    })
    expect(out.find((m) => m.type === CDN)?.avps.resultCode).toMatchObject({ result: 2, error: 8 })
    expect(tp.types(tp.send({ tunnelId: tid, sessionId: 0, type: MT.HELLO, avps: {} }))).not.toContain(
      STOPCCN,
    )
    expect(tp.dut.tunnels.get(tid)?.state).toBe('established')
  })

  it('L2-14: a known AVP with a reserved flag bit set is treated as unrecognised', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.HELLO,
      avps: {},
      extra: [{ vendor: 0, type: 7, mandatory: true, flags: 0x0400, value: new Uint8Array([0x61]) }],
    })
    expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode).toMatchObject({ result: 2, error: 8 })
  })

  it('L2-15, L2-16: unknown message type with M=1 clears the tunnel; with M=0 it is only acknowledged', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    tp.send({ tunnelId: tid, sessionId: 0, type: 99, typeMandatory: false, avps: {} })
    expect(tp.types(tp.advance(200))).toEqual([null])
    expect(tp.dut.tunnels.get(tid)?.state).toBe('established')
    const out = tp.send({ tunnelId: tid, sessionId: 0, type: 99, avps: {} })
    expect(tp.types(out)).toContain(STOPCCN)
  })

  it('L2-21, L2-22, L2-23: SCCRQ and SCCRP carry Protocol Version 1.0, Host Name, Framing Capabilities, Assigned Tunnel ID', () => {
    const lac = new Tp({ role: 'LAC' })
    const [sccrq] = lac.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    const lns = new Tp()
    const [sccrp] = lns.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
    for (const m of [sccrq, sccrp]) {
      expect(m?.avps.protocolVersion).toEqual({ ver: 1, rev: 0 })
      expect(m?.avps.hostName).toBeTruthy()
      expect(m?.avps.framingCapabilities).toBeDefined()
      expect(m?.avps.assignedTunnelId).toBeGreaterThan(0)
    }
  })

  it('L2-24, L2-29: StopCCN carries the first Assigned Tunnel ID and a Result Code', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const out = tp.input({ _tag: 'CloseTunnel', tunnelId: tid, resultCode: 6, reason: 'shutting down' })
    expect(out[0]?.avps).toMatchObject({
      assignedTunnelId: tid,
      resultCode: { result: 6, message: 'shutting down' },
    })
  })

  it('L2-25, L2-27, L2-28: ICRQ/ICRP/ICCN carry their AVPs; CDN carries our first Assigned Session ID; framing is a subset of the peer capabilities', () => {
    const tp = new Tp({ role: 'LAC' })
    const [sccrq] = tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    const dut = sccrq?.avps.assignedTunnelId as number
    tp.send({
      tunnelId: dut,
      sessionId: 0,
      type: MT.SCCRP,
      avps: { ...sccrqAvps(0x0707), framingCapabilities: { sync: true, async: false } },
    })
    tp.input({ _tag: 'OpenSession', tunnelId: dut, direction: 'incoming' })
    const icrq = tp.sent.find((m) => m.type === MT.ICRQ)
    expect(icrq?.avps.assignedSessionId).toBeGreaterThan(0)
    expect(icrq?.avps.callSerialNumber).toBeDefined()
    const [iccn] = tp.send({
      tunnelId: dut,
      sessionId: icrq?.avps.assignedSessionId as number,
      type: MT.ICRP,
      avps: { assignedSessionId: 0x0606 },
    })
    expect(iccn?.avps.txConnectSpeed).toBeDefined()
    expect(iccn?.avps.framingType).toEqual({ sync: true, async: false })
    const [cdn] = tp.input({
      _tag: 'CloseSession',
      tunnelId: dut,
      sessionId: icrq?.avps.assignedSessionId as number,
      resultCode: 3,
      reason: null,
    })
    expect(cdn).toMatchObject({ type: CDN, sessionId: 0x0606 })
    expect(cdn?.avps.assignedSessionId).toBe(icrq?.avps.assignedSessionId)
  })

  it('L2-26: an LNS sends OCRQ only after the peer sent Bearer Capabilities, and then with every required AVP', () => {
    const none = new Tp()
    const t1 = none.openTunnel({ bearerCapabilities: { digital: false, analog: false } })
    expect(none.input({ _tag: 'OpenSession', tunnelId: t1, direction: 'outgoing' })).toEqual([])
    const tp = new Tp()
    const t2 = tp.openTunnel()
    const [ocrq] = tp.input({
      _tag: 'OpenSession',
      tunnelId: t2,
      direction: 'outgoing',
      params: { calledNumber: '555' },
    })
    expect(ocrq?.type).toBe(7)
    for (const f of [
      'assignedSessionId',
      'callSerialNumber',
      'minimumBps',
      'maximumBps',
      'bearerType',
      'framingType',
      'calledNumber',
    ] as const) {
      expect(ocrq?.avps[f]).toBeDefined()
    }
  })

  it('L2-31: a wrong challenge response: StopCCN, the tunnel never reaches established', () => {
    const secret = { ref: 's', secret: new TextEncoder().encode('x') }
    const tp = new Tp({ challenge: true, secretFor: () => secret })
    const [sccrp] = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
    const tid = sccrp?.avps.assignedTunnelId as number
    expect(sccrp?.avps.challenge).toBeDefined()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.SCCCN,
      avps: { challengeResponse: new Uint8Array(16) },
    })
    expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode?.result).toBe(4)
    expect(tp.effects.some((f) => f._tag === 'TunnelUp')).toBe(false)
  })

  it('L2-30: challenge required and no secret for the peer: StopCCN result 4, never established (fails closed)', () => {
    const tp = new Tp({ challenge: true, secretFor: () => null })
    const out = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
    expect(tp.types(out)).not.toContain(MT.SCCRP)
    expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode?.result).toBe(4)
    expect(tp.effects.some((f) => f._tag === 'TunnelUp')).toBe(false)
  })

  it('L2-30: our LAC with challenge required and no secret for the answering peer: StopCCN 4 on its SCCRP', () => {
    const tp = new Tp({ role: 'LAC', challenge: true, secretFor: () => null })
    const [sccrq] = tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    const out = tp.send({
      tunnelId: sccrq?.avps.assignedTunnelId as number,
      sessionId: 0,
      type: MT.SCCRP,
      avps: sccrqAvps(7),
    })
    expect(tp.types(out)).not.toContain(MT.SCCCN)
    expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode?.result).toBe(4)
    expect(tp.effects.some((f) => f._tag === 'TunnelUp')).toBe(false)
  })

  it('L2-07: tunnel ids are never 0: with every id 1..65535 taken a new SCCRQ or OpenTunnel is refused, the last free id is handed out', () => {
    const tp = new Tp()
    // Ids reserved by the recovery queue count as taken (FO-11); only the keys matter here.
    const reserved = oldTunnel()
    for (let id = 1; id <= 0xffff; id++) if (id !== 4242) tp.dut.pending.set(id, reserved)
    const [sccrp] = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
    expect(sccrp?.type).toBe(MT.SCCRP)
    expect(sccrp?.avps.assignedTunnelId).toBe(4242)
    const before = tp.dut.stats.discarded
    const refused = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(6) })
    expect(refused).toEqual([])
    expect(tp.dut.tunnels.has(0)).toBe(false)
    expect(tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })).toEqual([])
    expect(tp.dut.tunnels.has(0)).toBe(false)
    expect(tp.dut.stats.discarded).toBe(before + 2)
    expect(
      tp.effects.filter((f) => f._tag === 'Dropped').map((f) => f._tag === 'Dropped' && f.reason),
    ).toEqual([
      'SCCRQ refused: every tunnel id (1..65535) is in use',
      'OpenTunnel refused: every tunnel id (1..65535) is in use',
    ])
  })

  it('L2-32: an SCCRP with an unsupported protocol version gets StopCCN result 5 with the highest version supported', () => {
    const tp = new Tp({ role: 'LAC' })
    const [sccrq] = tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    const out = tp.send({
      tunnelId: sccrq?.avps.assignedTunnelId as number,
      sessionId: 0,
      type: MT.SCCRP,
      avps: { ...sccrqAvps(7), protocolVersion: { ver: 2, rev: 0 } },
    })
    expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode).toMatchObject({ result: 5, error: 0x0100 })
  })

  it('L2-45: Receive Window Size 0 is a malformed mandatory AVP: StopCCN', () => {
    const tp = new Tp()
    const out = tp.send({
      tunnelId: 0,
      sessionId: 0,
      type: MT.SCCRQ,
      avps: sccrqAvps(5),
      extra: [{ vendor: 0, type: 10, mandatory: true, value: new Uint8Array([0, 0]) }],
    })
    expect(tp.types(out)).toContain(STOPCCN)
  })

  it('L2-48: the receiver of StopCCN acks it and acks a retransmitted StopCCN 20 s later', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: STOPCCN,
      avps: { assignedTunnelId: 0x0909, resultCode: { result: 1, error: null, message: null } },
    })
    expect(tp.types(tp.advance(100))).toEqual([null])
    tp.advance(20_000)
    tp.ns = (tp.ns - 1) & 0xffff // retransmission: same Ns
    tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: STOPCCN,
      avps: { assignedTunnelId: 0x0909, resultCode: { result: 1, error: null, message: null } },
    })
    expect(tp.types(tp.advance(100))).toEqual([null])
  })

  it('L2-49: a StopCCN we send is retransmitted until acknowledged', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    tp.input({ _tag: 'CloseTunnel', tunnelId: tid, resultCode: 1, reason: null })
    const again = tp.advance(8000).filter((m) => m.type === STOPCCN)
    expect(again.length).toBeGreaterThanOrEqual(2)
    expect(new Set(again.map((m) => m.ns)).size).toBe(1)
  })

  it('L2-53: a datagram for the tunnel from another port is dropped', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const b = encodeControl({ tunnelId: tid, sessionId: 0, ns: tp.ns, nr: tp.nr, type: MT.HELLO, avps: {} })
    expect(
      tp.input({ _tag: 'Datagram', from: { ...TP_ADDR, port: 40000 as typeof TP_ADDR.port }, bytes: b }),
    ).toEqual([])
    expect(tp.effects.at(-1)).toMatchObject({ _tag: 'Dropped' })
  })

  it('L2-61: SCCRQ, SCCRP or SCCCN on an established tunnel causes StopCCN', () => {
    for (const type of [2, 3]) {
      const tp = new Tp()
      const tid = tp.openTunnel()
      const out = tp.send({ tunnelId: tid, sessionId: 0, type, avps: type === 2 ? sccrqAvps(1) : {} })
      expect(out.find((m) => m.type === STOPCCN)?.avps.resultCode?.result).toBe(7)
    }
  })

  it('L2-62: an out-of-sequence call message gets a CDN (ICRP sent to an LNS in wait-connect)', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const [icrp] = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.ICRQ,
      avps: { assignedSessionId: 3, callSerialNumber: 1 },
    })
    const out = tp.send({
      tunnelId: tid,
      sessionId: icrp?.avps.assignedSessionId as number,
      type: MT.ICRP,
      avps: { assignedSessionId: 3 },
    })
    expect(tp.types(out)).toContain(CDN)
  })

  it('L2-62: the call state tables are per direction (RFC 2661 §7.4, §7.5): OCCN to an LNS with an incoming call in wait-connect gets a CDN', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const [icrp] = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.ICRQ,
      avps: { assignedSessionId: 4, callSerialNumber: 2 },
    })
    const out = tp.send({
      tunnelId: tid,
      sessionId: icrp?.avps.assignedSessionId as number,
      type: MT.OCCN,
      avps: { txConnectSpeed: 1000, framingType: { sync: true, async: false } },
    })
    expect(tp.types(out)).toContain(CDN)
    expect(tp.dut.tunnels.get(tid)?.sessions.size).toBe(0)
  })

  it('L2-63: a malformed non-mandatory AVP (Rx Connect Speed of length 8) is ignored and the session established', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const [icrp] = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.ICRQ,
      avps: { assignedSessionId: 3, callSerialNumber: 1 },
    })
    tp.send({
      tunnelId: tid,
      sessionId: icrp?.avps.assignedSessionId as number,
      type: MT.ICCN,
      avps: { txConnectSpeed: 1000, framingType: { sync: true, async: false } },
      extra: [{ vendor: 0, type: 38, mandatory: false, value: new Uint8Array([0, 1]) }],
    })
    expect(tp.effects.some((f) => f._tag === 'SessionUp')).toBe(true)
  })

  it('while refusing new work (drain, or the outbox near full) new tunnels get StopCCN and new calls CDN 4; established ones stay', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    tp.input({ _tag: 'SetRefuseNew', reason: 'drain', on: true })
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.ICRQ,
      avps: { assignedSessionId: 3, callSerialNumber: 1 },
    })
    expect(out.find((m) => m.type === CDN)?.avps.resultCode).toMatchObject({ result: 4, error: 4 })
    expect(tp.dut.tunnels.get(tid)?.state).toBe('established')
    const other = new Tp({ refuseNew: true })
    const [stop] = other.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })
    expect(stop?.type).toBe(STOPCCN)
    expect(stop?.avps.resultCode).toMatchObject({ result: 2, error: 4 })
  })
})

describe('tunnel identity', () => {
  it('a peer that restarts and reuses a tunnel id we are still closing gets a new tunnel; a retransmitted SCCRQ does not', () => {
    const tp = new Tp()
    const [sccrp] = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(0x0909) })
    const first = sccrp?.avps.assignedTunnelId as number
    tp.ns = 0
    const again = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(0x0909) })
    expect(again.filter((m) => m.type === MT.SCCRP)).toHaveLength(0) // a duplicate: acked, not answered twice
    expect(tp.dut.tunnels.size).toBe(1)
    tp.input({ _tag: 'CloseTunnel', tunnelId: first, resultCode: 1, reason: null })
    tp.ns = 0
    const fresh = tp.send({ tunnelId: 0, sessionId: 0, type: MT.SCCRQ, avps: sccrqAvps(0x0909) })
    const second = fresh.find((m) => m.type === MT.SCCRP)?.avps.assignedTunnelId
    expect(second).toBeDefined()
    expect(second).not.toBe(first)
  })
})

describe('call teardown records', () => {
  it('a CDN with Result, Error and Q.931 Cause Code is recorded in SessionClosed', () => {
    const tp = new Tp()
    const tid = tp.openTunnel()
    const sid = tp.openSession(tid, 3)
    tp.send({
      tunnelId: tid,
      sessionId: sid,
      type: MT.CDN,
      avps: {
        assignedSessionId: 3,
        resultCode: { result: 2, error: 6, message: 'vendor' },
        q931CauseCode: { cause: 16, msg: 0x5a, advisory: 'normal' },
      },
    })
    const closed = tp.effects.find((f) => f._tag === 'Emit' && f.event.type === 'SessionClosed')
    expect(closed?._tag === 'Emit' && closed.event).toMatchObject({
      resultCode: 2,
      errorCode: 6,
      message: 'vendor',
      q931: { cause: 16, msg: 0x5a, advisory: 'normal' },
      closedBy: 'peer',
    })
  })
})

describe('tie breaker (RFC 2661 §4.4.3)', () => {
  const crossing = (dutTie: boolean, tpTie: Uint8Array | 'same' | null) => {
    const tp = new Tp({ role: 'LAC', tieBreaker: dutTie })
    const [own] = tp.input({ _tag: 'OpenTunnel', peer: TP_ADDR })
    const value = tpTie === 'same' ? own?.avps.tieBreaker : tpTie
    const out = tp.raw(
      encodeControl({
        tunnelId: 0,
        sessionId: 0,
        ns: 0,
        nr: 0,
        type: MT.SCCRQ,
        avps: { ...sccrqAvps(0x0c0c), ...(value ? { tieBreaker: value } : {}) },
      }),
    )
    return { tp, own, out }
  }

  it('L2-56: our SCCRQ carries a Tie Breaker AVP of 8 octets when configured', () => {
    const { own } = crossing(true, null)
    expect(own?.avps.tieBreaker).toHaveLength(8)
  })

  it('L2-55: the lower value wins: the loser drops its own attempt silently and answers the winner', () => {
    const { tp, out } = crossing(true, new Uint8Array(8))
    expect(out.map((m) => m.type)).toEqual([2])
    expect([...tp.dut.tunnels.values()].map((t) => t.originator)).toEqual(['peer'])
  })

  it('L2-55: the winner silently discards the loser SCCRQ (no reply)', () => {
    const { tp, out } = crossing(true, new Uint8Array(8).fill(0xff))
    expect(out).toEqual([])
    expect([...tp.dut.tunnels.values()].map((t) => t.state)).toEqual(['wait-ctl-reply'])
  })

  it('L2-55: only one side sent a Tie Breaker: that side wins', () => {
    const ours = crossing(true, null)
    expect(ours.out).toEqual([])
    const theirs = crossing(false, new Uint8Array(8).fill(0xff))
    expect(theirs.out.map((m) => m.type)).toEqual([2])
    expect(theirs.tp.dut.tunnels.size).toBe(1)
  })

  it('L2-55: equal values: both attempts are dropped', () => {
    const { tp, out } = crossing(true, 'same')
    expect(out).toEqual([])
    expect(tp.dut.tunnels.size).toBe(0)
  })

  it('L2-55: neither sent one: two tunnels', () => {
    const { tp, out } = crossing(false, null)
    expect(out.map((m) => m.type)).toEqual([2])
    expect(tp.dut.tunnels.size).toBe(2)
  })
})
