// Two engines (our LAC and our LNS) talking through an in-process link on a fake clock.

import { describe, expect, it } from 'vitest'
import type { EventBody } from '../../../nodes/engine/types.js'
import { MessageType as MT } from '../../../nodes/wire/index.js'
import { canonicalJson } from '../../../registry/index.js'
import { foldEvents } from '../../support/fold.js'
import { addr, engineConfig, Sim } from '../../support/sim.js'

const LNS = addr('127.0.0.2')
const LAC = addr('127.0.0.3', 40000)
const secret = { ref: 'lab', secret: new TextEncoder().encode('s3cret') }

const pair = (
  over: { challenge?: boolean; hide?: boolean; loss?: number; dup?: number; jitter?: number } = {},
) => {
  const sim = new Sim(7, { loss: over.loss ?? 0, duplicate: over.dup ?? 0, jitterMs: over.jitter ?? 0 })
  const common = {
    secretFor: () => secret,
    challenge: over.challenge ?? false,
    hide: over.hide
      ? new Set(['assignedTunnelId', 'assignedSessionId', 'callSerialNumber'] as const)
      : new Set<never>(),
  }
  sim.add(LNS, engineConfig({ ...common, role: 'LNS', hostName: 'lns-a' }))
  sim.add(LAC, engineConfig({ ...common, role: 'LAC', hostName: 'lac-1' }))
  return sim
}

const tunnelOf = (sim: Sim, a: typeof LAC) => [...sim.node(a).engine.tunnels.values()][0]
const avpFlags = (b: Uint8Array) => {
  const out: Array<{ type: number; hidden: boolean }> = []
  for (let at = 12; at + 6 <= b.length; ) {
    const word = ((b[at] as number) << 8) | (b[at + 1] as number)
    out.push({ type: ((b[at + 4] as number) << 8) | (b[at + 5] as number), hidden: (word & 0x4000) !== 0 })
    at += word & 0x3ff
  }
  return out
}
const types = (events: EventBody[]) => events.map((e) => e.type)

/** Folds a node's emitted events into a table, as the node shell does. */
const tableOf = (events: EventBody[], endpointId: string) =>
  foldEvents(events, { endpointId, nodeId: 'node-1' })

describe('LAC <-> LNS engines', () => {
  for (const variant of [
    { name: 'plain', challenge: false, hide: false },
    { name: 'challenge authentication (L2-30)', challenge: true, hide: false },
    { name: 'challenge and hidden AVPs both ways (L2-17, L2-18)', challenge: true, hide: true },
  ]) {
    it(`establishes a tunnel and sessions: ${variant.name}`, () => {
      const sim = pair(variant)
      sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
      const lacTunnel = tunnelOf(sim, LAC)
      if (lacTunnel === undefined) throw new Error('no tunnel')
      for (let i = 0; i < 5; i++)
        sim.input(LAC, { _tag: 'OpenSession', tunnelId: lacTunnel.localId, direction: 'incoming' })
      sim.run(5_000)
      const lac = sim.node(LAC)
      const lns = sim.node(LNS)
      expect(types(lac.events)).toEqual(['TunnelEstablished', ...Array(5).fill('SessionEstablished')])
      expect(types(lns.events)).toEqual(['TunnelEstablished', ...Array(5).fill('SessionEstablished')])
      const lnsTunnel = tunnelOf(sim, LNS)
      expect(lnsTunnel?.authenticated).toBe(variant.challenge)
      expect(lacTunnel.peerAssignedId).toBe(lnsTunnel?.localId)
      expect(lnsTunnel?.peerAssignedId).toBe(lacTunnel.localId)
      // Each side's view of the sessions pairs up: my local id is the peer's remote id.
      const lnsSessions = [...(lnsTunnel?.sessions.values() ?? [])]
      for (const s of lacTunnel.sessions.values())
        expect(lnsSessions.find((x) => x.peerId === s.localId)?.localId).toBe(s.peerId)
      if (variant.hide) {
        // Hidden AVPs went over the wire (H bit set on some AVP of the LAC's SCCRQ).
        // Hiding starts after SCCRQ/SCCRP (peers choose the secret by Host Name): check the ICRQ.
        const icrq = sim.wire.find((w) => w.from === LAC && w.bytes.length > 19 && w.bytes[19] === 10)
          ?.bytes as Uint8Array
        const flags = avpFlags(icrq)
        // A Random Vector (36) precedes the first hidden AVP (L2-17).
        const firstHidden = flags.findIndex((f) => f.hidden)
        expect(firstHidden).toBeGreaterThan(0)
        expect(flags.slice(0, firstHidden).some((f) => f.type === 36)).toBe(true)
        expect(flags.find((f) => f.type === MT.CDN)?.hidden).toBe(true)
        expect(tableOf(lns.events, 'lns-a').tunnels.size).toBe(1)
      }
    })
  }

  it('a wrong challenge response never establishes the tunnel (L2-31)', () => {
    const sim = new Sim(3)
    sim.add(LNS, engineConfig({ role: 'LNS', challenge: true, secretFor: () => secret }))
    sim.add(
      LAC,
      engineConfig({
        role: 'LAC',
        hostName: 'lac-1',
        secretFor: () => ({ ref: 'x', secret: new TextEncoder().encode('wrong') }),
      }),
    )
    sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
    sim.run(10_000)
    expect(types(sim.node(LNS).events)).toEqual(['SetupRejected'])
    expect(types(sim.node(LAC).events).includes('TunnelEstablished')).toBe(true) // the LAC saw a valid SCCRP
    expect(sim.node(LNS).events[0]).toMatchObject({ stage: 'tunnel', resultCode: 4 })
  })

  it('survives loss, duplication and reordering: both sides end with the same sessions', () => {
    const sim = pair({ loss: 0.15, dup: 0.1, jitter: 30 })
    sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
    const t = tunnelOf(sim, LAC)
    if (t === undefined) throw new Error('no tunnel')
    for (let i = 0; i < 40; i++)
      sim.input(LAC, { _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
    sim.run(120_000)
    const lacUp = sim.node(LAC).events.filter((e) => e.type === 'SessionEstablished').length
    const lnsUp = sim.node(LNS).events.filter((e) => e.type === 'SessionEstablished').length
    expect(lacUp).toBe(40)
    expect(lnsUp).toBe(40)
  })

  it('session teardown from either side: CDN, and the tables agree', () => {
    const sim = pair()
    sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
    const t = tunnelOf(sim, LAC)
    if (t === undefined) throw new Error('no tunnel')
    for (let i = 0; i < 6; i++)
      sim.input(LAC, { _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
    sim.run(2_000)
    const [a, b] = [...t.sessions.keys()]
    sim.input(LAC, {
      _tag: 'CloseSession',
      tunnelId: t.localId,
      sessionId: a as number,
      resultCode: 3,
      reason: 'admin',
    })
    const lnsT = tunnelOf(sim, LNS)
    const lnsSid = [...(lnsT?.sessions.values() ?? [])].find((s) => s.peerId === b)?.localId as number
    sim.input(LNS, {
      _tag: 'CloseSession',
      tunnelId: lnsT?.localId as number,
      sessionId: lnsSid,
      resultCode: 3,
      reason: 'admin',
    })
    sim.run(4_000)
    expect(t.sessions.size).toBe(4)
    expect(lnsT?.sessions.size).toBe(4)
    const lac = tableOf(sim.node(LAC).events, 'x')
    const lns = tableOf(sim.node(LNS).events, 'x')
    expect(lac.tunnels.get(t.localId)?.sessions.size).toBe(4)
    expect(lns.tunnels.get(lnsT?.localId as number)?.sessions.size).toBe(4)
    expect(canonicalJson(lac)).not.toBe('') // tables fold without anomalies
    expect(lac.counters.anomalies + lns.counters.anomalies).toBe(0)
  })

  it('StopCCN clears the tunnel and all its sessions on both sides without CDNs (L2-51)', () => {
    const sim = pair()
    sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
    const t = tunnelOf(sim, LAC)
    if (t === undefined) throw new Error('no tunnel')
    for (let i = 0; i < 3; i++)
      sim.input(LAC, { _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
    sim.run(2_000)
    const before = sim.wire.length
    sim.input(LAC, { _tag: 'CloseTunnel', tunnelId: t.localId, resultCode: 1, reason: 'bye' })
    sim.run(60_000)
    expect(types(sim.node(LNS).events).at(-1)).toBe('TunnelClosed')
    expect(sim.node(LNS).events.at(-1)).toMatchObject({ closedBy: 'peer', resultCode: 1, message: 'bye' })
    expect(types(sim.node(LAC).events).at(-1)).toBe('TunnelClosed')
    const cdns = sim.wire.slice(before).filter((w) => w.bytes.length > 19 && w.bytes[19] === 14)
    expect(cdns).toHaveLength(0)
    expect(tableOf(sim.node(LNS).events, 'x').tunnels.size).toBe(0)
    // After the linger both engines forget the tunnel.
    expect(sim.node(LAC).engine.tunnels.size).toBe(0)
    expect(sim.node(LNS).engine.tunnels.size).toBe(0)
  })

  it('a silent peer is declared dead after the retransmissions, with a typed reason (L2-42)', () => {
    const sim = pair()
    sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
    sim.run(2_000)
    sim.nodes.delete('127.0.0.2:1701') // the LNS vanishes
    const t = tunnelOf(sim, LAC)
    if (t === undefined) throw new Error('no tunnel')
    sim.input(LAC, { _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
    sim.run(200_000)
    const last = sim.node(LAC).events.at(-1)
    expect(last).toMatchObject({ type: 'TunnelClosed', closedBy: 'timeout' })
    expect(sim.node(LAC).engine.tunnels.size).toBe(0)
  })
})

describe('crossing SCCRQs between two engines with tie breakers', () => {
  it('L2-55: both open at once; exactly one tunnel comes up, and the waiting calls ride on it', () => {
    const sim = new Sim(5)
    const A = addr('127.0.0.20')
    const B = addr('127.0.0.21')
    sim.add(A, engineConfig({ role: 'LAC', hostName: 'a', tieBreaker: true }))
    sim.add(B, engineConfig({ role: 'LNS', hostName: 'b', tieBreaker: true }))
    sim.input(A, { _tag: 'OpenTunnel', peer: B })
    sim.input(B, { _tag: 'OpenTunnel', peer: A })
    const aTunnel = [...sim.node(A).engine.tunnels.values()][0]
    if (aTunnel === undefined) throw new Error('no tunnel')
    sim.input(A, { _tag: 'OpenSession', tunnelId: aTunnel.localId, direction: 'incoming' })
    sim.run(10_000)
    const up = (a: typeof A) =>
      [...sim.node(a).engine.tunnels.values()].filter((t) => t.state === 'established')
    expect(up(A)).toHaveLength(1)
    expect(up(B)).toHaveLength(1)
    expect(up(A)[0]?.peerAssignedId).toBe(up(B)[0]?.localId)
    expect(sim.node(A).events.filter((e) => e.type === 'SessionEstablished')).toHaveLength(1)
  })
})
