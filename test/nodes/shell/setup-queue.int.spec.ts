// Existing tunnels ahead of new ones under load (issue 12, overload limits): an LNS on loopback
// with established tunnels from our LAC, flooded with new SCCRQs from many sources. The sessions
// the LAC opens on its tunnels during the flood come up (their ICRQs are not queued behind the
// SCCRQs), the tunnels stay up, and every SCCRQ is either handled or counted as shed.
import { createSocket, type Socket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unsafe } from '../../../contracts/index.js'
import { createEngine, step } from '../../../nodes/engine/engine.js'
import type { Effect } from '../../../nodes/engine/types.js'
import {
  isIncomingCallRequest,
  isNewTunnelRequest,
  SETUP_QUEUE_MAX,
  UdpEndpoint,
} from '../../../nodes/shell/udp-endpoint.js'
import { decodePacket, encodeControl, MessageType } from '../../../nodes/wire/index.js'
import { waitFor } from '../../support/churn.js'
import { addr, engineConfig, seededRng } from '../../support/sim.js'

const port = unsafe.port(1701)
let lns: UdpEndpoint
let lac: UdpEndpoint
const lacEffects: Effect[] = []

/** An SCCRQ as our own LAC engine encodes it (from another address, so it is a new tunnel). */
const sccrqBytes = (): Uint8Array => {
  const e = createEngine(engineConfig({ role: 'LAC', hostName: 'flooder' }), addr('127.0.0.99'))
  const fx = step(e, { _tag: 'OpenTunnel', peer: addr('127.0.0.81') }, 0, seededRng(1))
  const send = fx.find((f) => f._tag === 'Send')
  if (send?._tag !== 'Send') throw new Error('no SCCRQ')
  return Uint8Array.from(send.bytes)
}

beforeAll(async () => {
  lns = new UdpEndpoint(
    engineConfig({ role: 'LNS', hostName: 'lns-flood' }),
    { host: '127.0.0.81', port },
    { endpointId: unsafe.endpointId(`flood-${process.pid}`), nodeId: unsafe.nodeId('n'), epoch: 1 },
  )
  await lns.start()
  lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: 'lac-flood' }),
    { host: '127.0.0.82', port },
    { endpointId: unsafe.endpointId(`flood-lac-${process.pid}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    { onEffect: (f) => lacEffects.push(f) },
  )
  await lac.start()
  for (let i = 0; i < 2; i++) lac.input({ _tag: 'OpenTunnel', peer: lns.bind })
  await waitFor('2 tunnels up', () => lacEffects.filter((f) => f._tag === 'TunnelUp').length === 2)
})

afterAll(async () => {
  await lac?.stop()
  await lns?.stop()
})

describe('new tunnel requests wait behind the traffic of existing tunnels', () => {
  it('tells a new SCCRQ from every other datagram by its header (RFC 2661 §3.1)', () => {
    const sccrq = sccrqBytes()
    expect(isNewTunnelRequest(sccrq)).toBe(true)
    const forTunnel = Uint8Array.from(sccrq)
    forTunnel[5] = 7 // Tunnel ID 7 (T and L set: the id follows the Length)
    expect(isNewTunnelRequest(forTunnel)).toBe(false)
    // A data message (T clear) for tunnel 0, session 0: not a control message at all.
    expect(isNewTunnelRequest(Uint8Array.from([0x00, 0x02, 0, 0, 0, 0]))).toBe(false)
    // A control header without the Length bit: the Tunnel ID is at offset 2.
    expect(isNewTunnelRequest(Uint8Array.from([0x88, 0x02, 0, 0, 0, 0]))).toBe(true)
    expect(isNewTunnelRequest(Uint8Array.from([0x88, 0x02, 0, 3, 0, 0]))).toBe(false)
    expect(isNewTunnelRequest(Uint8Array.from([0xc8, 0x02]))).toBe(false)
  })

  it('sessions on existing tunnels come up during a flood of SCCRQs; the flood is handled or shed, counted', async () => {
    const sccrq = sccrqBytes()
    const sockets: Socket[] = []
    for (let i = 0; i < 16; i++) {
      const s = createSocket('udp4')
      await new Promise<void>((r) => s.bind(0, `127.0.0.${100 + i}`, () => r()))
      sockets.push(s)
    }
    const datagramsBefore = lns.engine.stats.datagrams
    const tunnels = [...lac.engine.tunnels.keys()]
    const sessionsUp = () => lacEffects.filter((f) => f._tag === 'SessionUp').length
    let sent = 0
    try {
      for (let burst = 0; burst < 10; burst++) {
        // 3 x SETUP_QUEUE_MAX SCCRQs over the run, in bursts, each burst followed by session requests.
        for (let i = 0; i < (3 * SETUP_QUEUE_MAX) / 10; i++) {
          const s = sockets[i % sockets.length] as Socket
          s.send(sccrq, port, lns.bind.host)
          sent++
        }
        for (const tunnelId of tunnels) lac.input({ _tag: 'OpenSession', tunnelId, direction: 'incoming' })
        await new Promise((r) => setImmediate(r))
      }
      await waitFor('20 sessions up during the flood', () => sessionsUp() === 20, 30_000)
      expect(lacEffects.filter((f) => f._tag === 'TunnelDown')).toEqual([])
      expect([...lac.engine.tunnels.values()].every((t) => t.state === 'established')).toBe(true)
      // Every SCCRQ that reached the socket went to the engine or was shed (UDP may lose some
      // before the socket: never more than were sent).
      await waitFor('the set-up queue to drain', () => lns.setupsQueued === 0, 30_000)
      const reachedEngine = lns.engine.stats.datagrams - datagramsBefore
      expect(reachedEngine + lns.setupsShed).toBeLessThanOrEqual(sent + 200) // + the LAC's own
      expect(reachedEngine).toBeGreaterThan(0)
    } finally {
      for (const s of sockets) s.close()
    }
  }, 60_000)
})

describe('new tunnel requests under an SCCRQ admission rate, fair across sources', () => {
  it('a flood of SCCRQs from 16 sources past the rate: every tunnel our LAC asks for meanwhile comes up', async () => {
    const rated = new UdpEndpoint(
      engineConfig({
        role: 'LNS',
        hostName: 'lns-rated',
        admission: { sccrq: { perSecond: 200, burst: 20 } },
      }),
      { host: '127.0.0.83', port },
      { endpointId: unsafe.endpointId(`rated-${process.pid}`), nodeId: unsafe.nodeId('n'), epoch: 1 },
    )
    await rated.start()
    const effects: Effect[] = []
    const lac2 = new UdpEndpoint(
      engineConfig({ role: 'LAC', hostName: 'lac-rated' }),
      { host: '127.0.0.84', port },
      { endpointId: unsafe.endpointId(`rated-lac-${process.pid}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
      { onEffect: (f) => effects.push(f) },
    )
    await lac2.start()
    const sockets: Socket[] = []
    try {
      for (let i = 0; i < 16; i++) {
        const s = createSocket('udp4')
        await new Promise<void>((r) => s.bind(0, `127.0.1.${100 + i}`, () => r()))
        sockets.push(s)
      }
      let assigned = 0
      const floodSccrq = () =>
        encodeControl({
          tunnelId: 0,
          sessionId: 0,
          ns: 0,
          nr: 0,
          type: MessageType.SCCRQ,
          avps: {
            protocolVersion: { ver: 1, rev: 0 },
            framingCapabilities: { sync: true, async: true },
            hostName: 'flooder',
            assignedTunnelId: 1 + (assigned++ % 65_000),
          },
        })
      // 16 sources x 100 SCCRQs every 50 ms for 2 s (32,000 in all, 80x the rate); our LAC asks
      // for one tunnel every 200 ms meanwhile.
      for (let round = 0; round < 40; round++) {
        for (const s of sockets) for (let k = 0; k < 50; k++) s.send(floodSccrq(), port, rated.bind.host)
        if (round % 4 === 0) lac2.input({ _tag: 'OpenTunnel', peer: rated.bind })
        await new Promise((r) => setTimeout(r, 50))
      }
      await waitFor(
        'our 10 tunnels up',
        () => effects.filter((f) => f._tag === 'TunnelUp').length === 10,
        30_000,
      )
      expect(effects.filter((f) => f._tag === 'TunnelDown')).toEqual([])
      // The flood waited its turn or was shed; what the engine saw stayed within the rate.
      expect(rated.setupsShed).toBeGreaterThan(0)
      expect(rated.engine.stats.refusedSccrqRate).toBe(0)
    } finally {
      for (const s of sockets) s.close()
      await lac2.stop()
      await rated.stop()
    }
  }, 60_000)
})

describe('calls under an ICRQ admission rate, fair across sources', () => {
  it('tells an ICRQ by its first AVP (RFC 2661 §4.1: Message Type first, never hidden)', () => {
    const icrq = encodeControl({
      tunnelId: 5,
      sessionId: 0,
      ns: 1,
      nr: 1,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: 1, callSerialNumber: 1 },
    })
    expect(isIncomingCallRequest(icrq)).toBe(true)
    const iccn = Uint8Array.from(icrq)
    iccn[19] = MessageType.ICCN
    expect(isIncomingCallRequest(iccn)).toBe(false)
    expect(isIncomingCallRequest(sccrqBytes())).toBe(false)
    expect(isIncomingCallRequest(icrq.subarray(0, 19))).toBe(false)
  })

  it('a flood of ICRQs past the rate from 8 sources’ tunnels: every call our LAC opens meanwhile comes up', async () => {
    const rated = new UdpEndpoint(
      engineConfig({
        role: 'LNS',
        hostName: 'lns-calls',
        admission: { icrq: { perSecond: 300, burst: 30 } },
      }),
      { host: '127.0.0.85', port },
      { endpointId: unsafe.endpointId(`calls-${process.pid}`), nodeId: unsafe.nodeId('n'), epoch: 1 },
    )
    await rated.start()
    const effects: Effect[] = []
    const lac3 = new UdpEndpoint(
      engineConfig({ role: 'LAC', hostName: 'lac-calls' }),
      { host: '127.0.0.86', port },
      { endpointId: unsafe.endpointId(`calls-lac-${process.pid}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
      { onEffect: (f) => effects.push(f) },
    )
    await lac3.start()
    const flooders: Array<{ socket: Socket; peer: number | null; ns: number }> = []
    try {
      lac3.input({ _tag: 'OpenTunnel', peer: rated.bind })
      lac3.input({ _tag: 'OpenTunnel', peer: rated.bind })
      await waitFor('2 tunnels up', () => effects.filter((f) => f._tag === 'TunnelUp').length === 2)
      // Each flooder completes a tunnel (SCCRP answered with SCCCN), then sends ICRQs in it.
      for (let i = 0; i < 8; i++) {
        const socket = createSocket('udp4')
        await new Promise<void>((r) => socket.bind(0, `127.0.2.${100 + i}`, () => r()))
        const f = { socket, peer: null as number | null, ns: 2 }
        socket.on('message', (d) => {
          const p = decodePacket(new Uint8Array(d))
          if (p._tag !== 'Right' || p.right._tag !== 'Control') return
          const m = p.right.msg
          if (m.type !== MessageType.SCCRP || m.avps.assignedTunnelId === undefined) return
          f.peer = m.avps.assignedTunnelId
          socket.send(
            encodeControl({
              tunnelId: f.peer,
              sessionId: 0,
              ns: 1,
              nr: 1,
              type: MessageType.SCCCN,
              avps: {},
            }),
            port,
            rated.bind.host,
          )
        })
        socket.send(
          encodeControl({
            tunnelId: 0,
            sessionId: 0,
            ns: 0,
            nr: 0,
            type: MessageType.SCCRQ,
            avps: {
              protocolVersion: { ver: 1, rev: 0 },
              framingCapabilities: { sync: true, async: true },
              hostName: `call-flooder-${i}`,
              assignedTunnelId: 100 + i,
            },
          }),
          port,
          rated.bind.host,
        )
        flooders.push(f)
      }
      await waitFor('the flooders’ tunnels', () => flooders.every((f) => f.peer !== null))
      await new Promise((r) => setTimeout(r, 100))
      const tunnels = [...lac3.engine.tunnels.keys()]
      let call = 0
      // 8 sources x 40 ICRQs every 50 ms for 2 s (12,800, about 20x the rate); our LAC opens one
      // call per tunnel every 200 ms meanwhile (20 in all).
      for (let round = 0; round < 40; round++) {
        for (const f of flooders)
          for (let k = 0; k < 40; k++)
            f.socket.send(
              encodeControl({
                tunnelId: f.peer ?? 0,
                sessionId: 0,
                ns: f.ns++ & 0xffff,
                nr: 1,
                type: MessageType.ICRQ,
                avps: { assignedSessionId: 1 + (call % 65_000), callSerialNumber: call++ },
              }),
              port,
              rated.bind.host,
            )
        if (round % 4 === 0)
          for (const tunnelId of tunnels) lac3.input({ _tag: 'OpenSession', tunnelId, direction: 'incoming' })
        await new Promise((r) => setTimeout(r, 50))
      }
      await waitFor(
        'our 20 calls up',
        () => effects.filter((f) => f._tag === 'SessionUp').length === 20,
        30_000,
      )
      expect(effects.filter((f) => f._tag === 'SessionDown' || f._tag === 'TunnelDown')).toEqual([])
      expect(rated.setupsShed).toBeGreaterThan(0)
    } finally {
      for (const f of flooders) f.socket.close()
      await lac3.stop()
      await rated.stop()
    }
  }, 60_000)
})
