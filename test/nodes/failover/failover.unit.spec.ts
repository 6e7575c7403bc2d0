// RFC 4951 between our engines on a fake clock: LNS-1 dies, LNS-2 (same address) rehydrates its
// table from LNS-1's events and recovers every tunnel with our LAC as remote endpoint.

import { describe, expect, it } from 'vitest'
import { recoveryPlan, toRecoverable } from '../../../nodes/engine/recoverable.js'
import type { EventBody } from '../../../nodes/engine/types.js'
import { decodePacket, encodeData, MessageType as MT } from '../../../nodes/wire/index.js'
import { canonicalJson, type EndpointTable } from '../../../registry/index.js'
import { foldEvents } from '../../support/fold.js'
import { addr, engineConfig, Sim } from '../../support/sim.js'

const LNS = addr('127.0.0.2')
const LAC = addr('127.0.0.3', 40000)
const FAILOVER = { control: true, data: true, recoveryTimeMs: 20_000 }
const secret = { ref: 'lab', secret: new TextEncoder().encode('s3cret') }

const fold = (events: EventBody[], epoch = 1): EndpointTable => foldEvents(events, { epoch })

const setup = (
  o: { challenge?: boolean; lacFailover?: boolean; lnsRecoveryTimeMs?: number; sequencing?: boolean } = {},
) => {
  const sim = new Sim(3)
  const common = { secretFor: () => secret, challenge: o.challenge ?? true }
  const lnsFailover = { ...FAILOVER, recoveryTimeMs: o.lnsRecoveryTimeMs ?? FAILOVER.recoveryTimeMs }
  sim.add(LNS, engineConfig({ ...common, role: 'LNS', failover: lnsFailover }))
  sim.add(
    LAC,
    engineConfig({
      ...common,
      role: 'LAC',
      hostName: 'lac-1',
      failover: o.lacFailover === false ? null : FAILOVER,
    }),
  )
  sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
  sim.run(1000)
  const t = [...sim.node(LAC).engine.tunnels.values()][0]
  if (t === undefined) throw new Error('no tunnel')
  for (let i = 0; i < 10; i++)
    sim.input(LAC, {
      _tag: 'OpenSession',
      tunnelId: t.localId,
      direction: 'incoming',
      params: { sequencing: o.sequencing ?? false },
    })
  sim.run(3000)
  return { sim, lacTunnel: t }
}

/** LNS-1 vanishes; LNS-2 takes the address, rehydrates from LNS-1's events and recovers. */
const failover = (sim: Sim) => {
  const table = fold(sim.node(LNS).events)
  sim.nodes.delete('127.0.0.2:1701')
  sim.run(sim.now + 2000)
  sim.add(
    LNS,
    engineConfig({ secretFor: () => secret, challenge: true, role: 'LNS', failover: FAILOVER }),
    99,
  )
  const plan = recoveryPlan(table)
  for (const r of plan.recover) sim.input(LNS, { _tag: 'Recover', tunnel: r })
  return { table, plan }
}

const wireTypes = (sim: Sim, from: typeof LNS) =>
  sim.wire
    .filter((w) => w.from.host === from.host && w.from.port === from.port)
    .map((w) => decodePacket(w.bytes))
    .flatMap((r) => (r._tag === 'Right' && r.right._tag === 'Control' ? [r.right.msg] : []))

describe('RFC 4951 failover between our engines', () => {
  it('FO-01, FO-04: Failover Capability is exchanged in SCCRQ/SCCRP and recorded per tunnel', () => {
    const { sim } = setup()
    const sccrq = wireTypes(sim, LAC).find((m) => m.type === MT.SCCRQ)
    expect(sccrq?.avps.failoverCapability).toEqual(FAILOVER)
    const t = [...sim.node(LNS).engine.tunnels.values()][0]
    expect(t?.peerFailover).toEqual(FAILOVER)
    const ev = sim.node(LNS).events.find((e) => e.type === 'TunnelEstablished')
    expect(ev).toMatchObject({ localFailover: FAILOVER, peerFailover: FAILOVER })
  })

  it('FO-06, FO-08, FO-09, FO-10, FO-11, FO-19, FO-21, FO-23, FO-26, FO-28: the replacement recovers the tunnel, sessions stay, sequence numbers agree', () => {
    const { sim, lacTunnel } = setup()
    const { plan } = failover(sim)
    expect(plan.recover).toHaveLength(1)
    sim.run(sim.now + 5000)
    const lns2 = sim.node(LNS)
    const sccrq = wireTypes(sim, LNS).find((m) => m.type === MT.SCCRQ && m.avps.tunnelRecovery !== undefined)
    const old = plan.recover[0]
    expect(sccrq?.avps.tunnelRecovery).toEqual({
      recoverTunnelId: old?.localTunnelId,
      recoverRemoteTunnelId: old?.remoteTunnelId,
    })
    expect(sccrq?.avps.tieBreaker).toBeDefined()
    expect(sccrq?.avps.failoverCapability).toBeUndefined()
    expect(sccrq?.avps.assignedTunnelId).not.toBe(old?.localTunnelId)
    const sccrp = wireTypes(sim, LAC).find(
      (m) => m.type === MT.SCCRP && m.avps.suggestedControlSequence !== undefined,
    )
    expect(sccrp?.avps.failoverCapability).toBeUndefined()
    // No StopCCN or CDN on the old tunnel from the remote endpoint during recovery (FO-28).
    expect(
      wireTypes(sim, LAC).filter(
        (m) => (m.type === MT.StopCCN || m.type === MT.CDN) && m.tunnelId === old?.localTunnelId,
      ),
    ).toEqual([])
    expect(lns2.events.map((e) => e.type)).toEqual([
      'TunnelRecoveryStarted',
      'TunnelRecovered',
      'SessionsReconciled',
    ])
    expect(
      sim
        .node(LAC)
        .events.map((e) => e.type)
        .slice(-3),
    ).toEqual(['TunnelRecoveryStarted', 'TunnelRecovered', 'SessionsReconciled'])
    expect(lns2.events[1]).toMatchObject({
      sessionsKept: 10,
      suggestedNs: sccrp?.avps.suggestedControlSequence?.ns,
    })
    // A recovery is no new tunnel: TunnelUp came once, at set-up (a simulator would open its
    // calls again on another one).
    expect(sim.node(LAC).effects.filter((f) => f._tag === 'TunnelUp')).toHaveLength(1)
    expect(lns2.effects.filter((f) => f._tag === 'TunnelUp')).toEqual([])
    // The recovered tunnel works: a new session comes up across it.
    sim.input(LAC, { _tag: 'OpenSession', tunnelId: lacTunnel.localId, direction: 'incoming' })
    sim.run(sim.now + 3000)
    const lnsOld = lns2.engine.tunnels.get(old?.localTunnelId as number)
    expect(lnsOld?.sessions.size).toBe(11)
    expect(lacTunnel.sessions.size).toBe(11)
    // The recovery tunnel is gone after its StopCCN; the old tunnel is the only one left.
    sim.run(sim.now + 40_000)
    expect([...lns2.engine.tunnels.keys()]).toEqual([old?.localTunnelId])
  })

  it('FO-34, FO-45: sessions the log still shows but the peer closed are cleared by FSQ/FSR, silently', () => {
    const { sim, lacTunnel } = setup()
    // The LAC closes two sessions whose CDN never reaches LNS-1 (it is already dead).
    const table = fold(sim.node(LNS).events)
    sim.nodes.delete('127.0.0.2:1701')
    const [a, b] = [...lacTunnel.sessions.keys()]
    sim.input(LAC, {
      _tag: 'CloseSession',
      tunnelId: lacTunnel.localId,
      sessionId: a as number,
      resultCode: 3,
      reason: null,
    })
    sim.input(LAC, {
      _tag: 'CloseSession',
      tunnelId: lacTunnel.localId,
      sessionId: b as number,
      resultCode: 3,
      reason: null,
    })
    sim.run(sim.now + 2000)
    sim.add(
      LNS,
      engineConfig({ secretFor: () => secret, challenge: true, role: 'LNS', failover: FAILOVER }),
      99,
    )
    for (const r of recoveryPlan(table).recover) sim.input(LNS, { _tag: 'Recover', tunnel: r })
    sim.run(sim.now + 5000)
    const lns2 = sim.node(LNS)
    const reconciled = lns2.events.find((e) => e.type === 'SessionsReconciled')
    expect(reconciled).toMatchObject({ kept: 8 })
    expect((reconciled as { clearedSessionIds: number[] }).clearedSessionIds).toHaveLength(2)
    const cdns = wireTypes(sim, LNS).filter((m) => m.type === MT.CDN)
    expect(cdns).toEqual([])
    // Both sides agree, and the replacement's table (log + its events) has exactly the LAC's sessions.
    const after = foldEvents(lns2.events, { epoch: 2, nodeId: 'n2', onto: table })
    const lacSessions = [...lacTunnel.sessions.values()].map((s) => s.peerId).sort()
    const lnsSessions = [...(after.tunnels.values().next().value?.sessions.keys() ?? [])].sort()
    expect(lnsSessions).toEqual(lacSessions)
    expect(canonicalJson(after)).toContain('"recoveries":1')
  })

  it('FO-17, FO-27: a peer that did not negotiate failover refuses the recovery; the old tunnel is cleared silently', () => {
    const { sim } = setup({ lacFailover: false })
    const table = fold(sim.node(LNS).events)
    // The LNS table says the LAC did not advertise failover: such a tunnel is not even tried...
    expect(recoveryPlan(table).recover).toHaveLength(0)
    expect(recoveryPlan(table).close).toHaveLength(1)
    // ...and if a recovery is attempted anyway, the remote endpoint refuses it with StopCCN.
    sim.nodes.delete('127.0.0.2:1701')
    sim.add(
      LNS,
      engineConfig({ secretFor: () => secret, challenge: true, role: 'LNS', failover: FAILOVER }),
      99,
    )
    const forced = [...table.tunnels.values()].map((t) => ({ ...toRecoverable(t) }))
    for (const r of forced) sim.input(LNS, { _tag: 'Recover', tunnel: r })
    sim.run(sim.now + 5000)
    expect(wireTypes(sim, LAC).find((m) => m.type === MT.StopCCN)?.avps.resultCode?.message).toBe(
      'tunnel was not failover capable',
    )
    expect(sim.node(LNS).events.map((e) => e.type)).toEqual(['TunnelRecoveryStarted', 'TunnelRecoveryFailed'])
    expect(sim.node(LNS).engine.tunnels.has(forced[0]?.localTunnelId as number)).toBe(false)
  })

  it('FO-29: the remote endpoint keeps a C-capable peer tunnel past its retries until the Recovery Time, then clears it', () => {
    const { sim, lacTunnel } = setup({ lnsRecoveryTimeMs: 60_000 })
    sim.nodes.delete('127.0.0.2:1701')
    sim.input(LAC, { _tag: 'OpenSession', tunnelId: lacTunnel.localId, direction: 'incoming' }) // goes unanswered
    sim.run(sim.now + 35_000) // retransmissions (1+2+4+8+8 s) are exhausted
    expect(sim.node(LAC).engine.tunnels.has(lacTunnel.localId)).toBe(true)
    sim.run(sim.now + 20_000) // 55 s of the LNS's 60 s Recovery Time
    expect(sim.node(LAC).engine.tunnels.has(lacTunnel.localId)).toBe(true)
    expect(sim.node(LAC).events.at(-1)?.type).toBe('SessionEstablished')
    sim.run(sim.now + 10_000) // past the Recovery Time, counted from the first unanswered message
    expect(sim.node(LAC).events.at(-1)).toMatchObject({ type: 'TunnelClosed', closedBy: 'timeout' })
  })
})

describe('double failover', () => {
  it('the replacement dies during recovery; a third node recovers the tunnel, superseding the unfinished recovery', () => {
    const { sim, lacTunnel } = setup()
    const table = fold(sim.node(LNS).events)
    sim.nodes.delete('127.0.0.2:1701')
    sim.add(
      LNS,
      engineConfig({ secretFor: () => secret, challenge: true, role: 'LNS', failover: FAILOVER }),
      99,
    )
    const plan = recoveryPlan(table)
    for (const r of plan.recover) sim.input(LNS, { _tag: 'Recover', tunnel: r })
    // The recovery SCCRQ reaches the LAC, which answers; the replacement dies before the SCCCN.
    sim.run(sim.now + 1)
    sim.nodes.delete('127.0.0.2:1701')
    sim.run(sim.now + 3000)
    expect(sim.node(LAC).events.at(-1)?.type).toBe('TunnelRecoveryStarted')
    sim.add(
      LNS,
      engineConfig({ secretFor: () => secret, challenge: true, role: 'LNS', failover: FAILOVER }),
      123,
    )
    for (const r of plan.recover) sim.input(LNS, { _tag: 'Recover', tunnel: r })
    sim.run(sim.now + 5000)
    expect(sim.node(LNS).events.map((e) => e.type)).toEqual([
      'TunnelRecoveryStarted',
      'TunnelRecovered',
      'SessionsReconciled',
    ])
    expect(lacTunnel.sessions.size).toBe(10)
    expect(
      sim.node(LAC).events.filter((e) => e.type === 'TunnelClosed' || e.type === 'SessionClosed'),
    ).toEqual([])
  })
})

describe('data channel failover (RFC 4951 §6)', () => {
  const frame = (i: number) => Uint8Array.of(0xff, 0x03, 0xc0, 0x21, i)
  const dataFrom = (sim: Sim, a: typeof LNS, sinceAt: number) =>
    sim.wire
      .filter((w) => w.from.host === a.host && w.from.port === a.port && w.at >= sinceAt)
      .map((w) => decodePacket(w.bytes))
      .flatMap((r) => (r._tag === 'Right' && r.right._tag === 'Data' ? [r.right.msg] : []))
  const delivered = (sim: Sim, a: typeof LNS) =>
    sim.node(a).effects.flatMap((f) => (f._tag === 'Deliver' ? [f.payload[4] as number] : []))

  it('FO-49, FO-50, FO-51: the recovery endpoint restarts data Ns at 0, the remote keeps its own and adopts after n', () => {
    const { sim, lacTunnel } = setup({ sequencing: true })
    const lacSession = [...lacTunnel.sessions.values()][0]
    if (lacSession === undefined) throw new Error('no session')
    const lns1Tunnel = [...sim.node(LNS).engine.tunnels.values()][0]
    const lnsSessionId = lacSession.peerId
    expect(lns1Tunnel?.sessions.get(lnsSessionId)?.sequencing).toBe(true)
    const lnsSend = (i: number) =>
      sim.input(LNS, {
        _tag: 'SendData',
        tunnelId: lns1Tunnel?.localId as number,
        sessionId: lnsSessionId,
        payload: frame(i),
      })
    const lacSend = (i: number) =>
      sim.input(LAC, {
        _tag: 'SendData',
        tunnelId: lacTunnel.localId,
        sessionId: lacSession.localId,
        payload: frame(i),
      })
    for (let i = 0; i < 10; i++) lnsSend(i)
    for (let i = 0; i < 3; i++) lacSend(i)
    sim.run(sim.now + 10)
    expect(delivered(sim, LNS)).toEqual([0, 1, 2])
    expect(delivered(sim, LAC)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    failover(sim)
    sim.run(sim.now + 5000)
    const since = sim.now
    // The new owner sends 8 frames: Ns restarts at 0 (FO-49). The LAC expects Ns 10, so these are
    // "old"; the 5th consecutive in-sequence one makes it adopt their sequence (FO-51).
    for (let i = 10; i < 18; i++) lnsSend(i)
    sim.run(sim.now + 10)
    expect(dataFrom(sim, LNS, since).map((m) => m.ns)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(delivered(sim, LAC)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 17])
    // The LAC, the remote endpoint, continues its own Ns (FO-50); the new owner takes it from there.
    lacSend(20)
    lacSend(21)
    sim.run(sim.now + 10)
    expect(dataFrom(sim, LAC, since).map((m) => m.ns)).toEqual([3, 4])
    expect(delivered(sim, LNS)).toEqual([20, 21])
    expect(sim.node(LAC).engine.stats.dataDropped).toBe(4)
  })

  it('unsequenced sessions carry no Ns and are delivered across the recovery as they come', () => {
    const { sim, lacTunnel } = setup()
    const lacSession = [...lacTunnel.sessions.values()][0]
    if (lacSession === undefined) throw new Error('no session')
    failover(sim)
    sim.run(sim.now + 5000)
    const since = sim.now
    sim.input(LAC, {
      _tag: 'SendData',
      tunnelId: lacTunnel.localId,
      sessionId: lacSession.localId,
      payload: frame(1),
    })
    sim.input(LNS, {
      _tag: 'SendData',
      tunnelId: lacTunnel.peerAssignedId,
      sessionId: lacSession.peerId,
      payload: frame(2),
    })
    sim.run(sim.now + 10)
    expect(dataFrom(sim, LAC, since).map((m) => m.ns)).toEqual([null])
    expect(delivered(sim, LNS)).toEqual([1])
    expect(delivered(sim, LAC)).toEqual([2])
  })

  it('data for an unknown session, from a wrong source, or on a tunnel awaiting its reset is dropped and counted', () => {
    const { sim, lacTunnel } = setup()
    const lns = sim.node(LNS).engine
    const before = lns.stats.dataDropped
    const bytes = encodeData(
      { tunnelId: lacTunnel.peerAssignedId, sessionId: 0x4242, ns: null, priority: false },
      frame(1),
    )
    sim.input(LNS, { _tag: 'Datagram', from: LAC, bytes })
    const s = [...lacTunnel.sessions.values()][0]
    const ok = encodeData(
      { tunnelId: lacTunnel.peerAssignedId, sessionId: s?.peerId as number, ns: null, priority: false },
      frame(2),
    )
    sim.input(LNS, { _tag: 'Datagram', from: addr('127.0.0.99', 40000), bytes: ok })
    expect(lns.stats.dataDropped).toBe(before + 2)
    expect(delivered(sim, LNS)).toEqual([])
    sim.input(LNS, { _tag: 'Datagram', from: LAC, bytes: ok })
    expect(delivered(sim, LNS)).toEqual([2])
  })
})

describe('both sides fail over at once (RFC 4951 §5.6)', () => {
  it('FO-33: crossing recovery SCCRQs for the same old tunnel end in one recovery; both sides agree', () => {
    const { sim } = setup()
    const lnsTable = fold(sim.node(LNS).events)
    const lacTable = fold(sim.node(LAC).events)
    sim.nodes.delete('127.0.0.2:1701')
    sim.nodes.delete('127.0.0.3:40000')
    sim.run(sim.now + 2000)
    const common = { secretFor: () => secret, challenge: true, failover: FAILOVER }
    sim.add(LNS, engineConfig({ ...common, role: 'LNS' }), 77)
    sim.add(LAC, engineConfig({ ...common, role: 'LAC', hostName: 'lac-1' }), 78)
    const lnsPlan = recoveryPlan(lnsTable)
    const lacPlan = recoveryPlan(lacTable)
    for (const r of lnsPlan.recover) sim.input(LNS, { _tag: 'Recover', tunnel: r })
    for (const r of lacPlan.recover) sim.input(LAC, { _tag: 'Recover', tunnel: r })
    sim.run(sim.now + 5000)
    const recoverySccrqs = [...wireTypes(sim, LNS), ...wireTypes(sim, LAC)].filter(
      (m) => m.type === MT.SCCRQ && m.avps.tunnelRecovery !== undefined,
    )
    expect(recoverySccrqs).toHaveLength(2)
    const recovered = (a: typeof LNS) => sim.node(a).events.filter((e) => e.type === 'TunnelRecovered').length
    expect(recovered(LNS)).toBe(1)
    expect(recovered(LAC)).toBe(1)
    const lnsOld = sim.node(LNS).engine.tunnels.get(lnsPlan.recover[0]?.localTunnelId as number)
    const lacOld = sim.node(LAC).engine.tunnels.get(lacPlan.recover[0]?.localTunnelId as number)
    expect(lnsOld?.sessions.size).toBe(10)
    expect(lacOld?.sessions.size).toBe(10)
    // The control channels agree: a new call comes up across the recovered tunnel.
    sim.input(LAC, { _tag: 'OpenSession', tunnelId: lacOld?.localId as number, direction: 'incoming' })
    sim.run(sim.now + 40_000)
    expect(lnsOld?.sessions.size).toBe(11)
    expect(lacOld?.sessions.size).toBe(11)
    expect(sim.node(LNS).engine.tunnels.size).toBe(1)
    expect(sim.node(LAC).engine.tunnels.size).toBe(1)
  })
})

describe('tunnels that cannot be recovered', () => {
  it('a peer still speaking on a buried tunnel gets a StopCCN in its own sequence', async () => {
    const { Tp, TP_ADDR } = await import('../engine/tp.js')
    const tp = new Tp()
    tp.input({ _tag: 'Bury', tunnels: [{ localTunnelId: 77, remoteTunnelId: 0x0909, peer: TP_ADDR }] })
    const { encodeControl } = await import('../../../nodes/wire/index.js')
    const out = tp.raw(encodeControl({ tunnelId: 77, sessionId: 0, ns: 5, nr: 3, type: MT.HELLO, avps: {} }))
    expect(out).toHaveLength(1)
    expect(out[0]).toMatchObject({ type: MT.StopCCN, tunnelId: 0x0909, ns: 3, nr: 6 })
    expect(out[0]?.avps).toMatchObject({ assignedTunnelId: 77, resultCode: { result: 1 } })
    // Anything else unknown is still just dropped.
    expect(
      tp.raw(encodeControl({ tunnelId: 78, sessionId: 0, ns: 5, nr: 3, type: MT.HELLO, avps: {} })),
    ).toEqual([])
  })
})

describe('a buried tunnel closed by its peer', () => {
  it('its StopCCN is acknowledged with a ZLB in the peer sequence', async () => {
    const { Tp, TP_ADDR } = await import('../engine/tp.js')
    const { encodeControl } = await import('../../../nodes/wire/index.js')
    const tp = new Tp()
    tp.input({ _tag: 'Bury', tunnels: [{ localTunnelId: 77, remoteTunnelId: 0x0909, peer: TP_ADDR }] })
    const out = tp.raw(
      encodeControl({
        tunnelId: 77,
        sessionId: 0,
        ns: 9,
        nr: 4,
        type: MT.StopCCN,
        avps: { assignedTunnelId: 0x0909, resultCode: { result: 1, error: null, message: null } },
      }),
    )
    expect(out).toMatchObject([{ type: null, tunnelId: 0x0909, ns: 4, nr: 10 }])
  })
})

describe('RFC 4951 wire rules over a whole failover', () => {
  const run = () => {
    const { sim } = setup()
    const { plan } = failover(sim)
    sim.run(sim.now + 5000)
    const all = [...wireTypes(sim, LNS), ...wireTypes(sim, LAC)]
    const recoveryIds = new Set(
      all
        .filter((m) => m.type === MT.SCCRQ && m.avps.tunnelRecovery !== undefined)
        .map((m) => m.avps.assignedTunnelId),
    )
    return { sim, plan, all, recoveryIds }
  }

  it('FO-05, FO-15, FO-20: AVP 76 only in SCCRQ/SCCRP, AVP 77 only in SCCRQ, SCS only in the recovery SCCRP', () => {
    const { all } = run()
    for (const m of all) {
      if (m.avps.failoverCapability !== undefined) expect([1, 2]).toContain(m.type)
      if (m.avps.tunnelRecovery !== undefined) expect(m.type).toBe(1)
      if (m.avps.suggestedControlSequence !== undefined) expect(m.type).toBe(2)
    }
    expect(all.some((m) => m.avps.tunnelRecovery !== undefined)).toBe(true)
  })

  it('FO-13: only SCCRQ, SCCRP, SCCCN, StopCCN, HELLO and ZLB travel on the recovery tunnel', () => {
    const { all } = run()
    const recoveryTunnelIds = new Set(
      all
        .filter((m) => m.avps.tunnelRecovery !== undefined || m.avps.suggestedControlSequence !== undefined)
        .map((m) => m.avps.assignedTunnelId),
    )
    const onRecovery = all.filter((m) => recoveryTunnelIds.has(m.tunnelId))
    expect(onRecovery.length).toBeGreaterThan(0)
    for (const m of onRecovery) expect([1, 2, 3, 4, 6, null]).toContain(m.type)
  })

  it('FO-36, FO-37, FO-38, FO-40, FO-41, FO-42: FSQ and FSR have Message Type M=0 and only FSS AVPs; every queried session is answered', () => {
    const { all } = run()
    const fsq = all.filter((m) => m.type === MT.FSQ)
    const fsr = all.filter((m) => m.type === MT.FSR)
    expect(fsq.length).toBeGreaterThan(0)
    expect(fsr.length).toBeGreaterThan(0)
    for (const m of [...fsq, ...fsr]) {
      expect(m.typeMandatory).toBe(false)
      expect(Object.keys(m.avps)).toEqual(['failoverSessionStates'])
    }
    const asked = fsq.flatMap((m) => m.avps.failoverSessionStates ?? []).map((f) => f.sessionId)
    const answered = new Set(
      fsr.flatMap((m) => m.avps.failoverSessionStates ?? []).map((f) => f.remoteSessionId),
    )
    for (const id of asked) expect(answered.has(id)).toBe(true)
  })

  it('FO-24, FO-25: before the reset, old-tunnel packets are not acked; pre-failure messages are never retransmitted after it', () => {
    const { sim, lacTunnel } = setup()
    const table = fold(sim.node(LNS).events)
    sim.nodes.delete('127.0.0.2:1701')
    // The LAC queues an ICRQ that nobody acknowledges before the failover.
    sim.input(LAC, { _tag: 'OpenSession', tunnelId: lacTunnel.localId, direction: 'incoming' })
    sim.run(sim.now + 2500)
    const icrqNs = wireTypes(sim, LAC)
      .filter((m) => m.type === MT.ICRQ)
      .at(-1)?.ns
    sim.add(
      LNS,
      engineConfig({ secretFor: () => secret, challenge: true, role: 'LNS', failover: FAILOVER }),
      99,
    )
    for (const r of recoveryPlan(table).recover) sim.input(LNS, { _tag: 'Recover', tunnel: r })
    const mark = sim.wire.length
    sim.run(sim.now + 20_000)
    const after = sim.wire
      .slice(mark)
      .filter((w) => w.from.host === LAC.host && w.from.port === LAC.port)
      .map((w) => decodePacket(w.bytes))
      .flatMap((r) => (r._tag === 'Right' && r.right._tag === 'Control' ? [r.right.msg] : []))
    // The unacked ICRQ (its Ns) never goes out again on the old tunnel after the reset.
    expect(after.filter((m) => m.type === MT.ICRQ && m.ns === icrqNs && m.tunnelId !== 0)).toEqual([])
    // The LAC's half-set-up call was cleared silently (Step I): no CDN on the wire.
    expect(after.filter((m) => m.type === MT.CDN)).toEqual([])
    expect([...lacTunnel.sessions.values()].every((s) => s.state === 'established')).toBe(true)
  })
})
