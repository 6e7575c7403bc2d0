// Interop on loopback with a real xl2tpd (Debian package): our LAC toward xl2tpd as LNS and
// xl2tpd as LAC toward our LNS, with challenge authentication and hidden AVPs both ways; pppd
// cannot run here, so xl2tpd clears each session after ICCN: we assert on its CDN. Every
// packet we send is decoded by tshark with no expert info of severity Error.
import { createSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type L2tpEvent, unsafe } from '../../contracts/index.js'
import { DEFAULT_CHANNEL } from '../../nodes/control/channel.js'
import { newSession } from '../../nodes/engine/session.js'
import type { Effect } from '../../nodes/engine/types.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { engineConfig } from '../support/sim.js'
import { type Capture, decodeCapture, startCapture } from '../support/tshark.js'
import { startXl2tpd } from '../support/xl2tpd.js'

const SECRET = 's3cret'
const secret = { ref: 'lab', secret: new TextEncoder().encode(SECRET) }
const HIDE = new Set([
  'assignedSessionId',
  'callSerialNumber',
  'bearerType',
  'framingType',
  'txConnectSpeed',
] as const)
const port = unsafe.port(1701)

const waitFor = async (what: string, cond: () => boolean, ms = 20_000): Promise<void> => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const endpoint = (host: string, role: 'LAC' | 'LNS', events: L2tpEvent[], effects: Effect[], over = {}) =>
  new UdpEndpoint(
    engineConfig({
      role,
      hostName: `ours-${role.toLowerCase()}`,
      secretFor: () => secret,
      challenge: true,
      hide: HIDE,
      ...over,
    }),
    { host, port },
    { endpointId: unsafe.endpointId(`ep-${role}`), nodeId: unsafe.nodeId('node-1'), epoch: 1 },
    { onEvent: (e) => events.push(e), onEffect: (f) => effects.push(f) },
  )

let capture: Capture
beforeAll(async () => {
  capture = await startCapture('udp port 1701 and net 127.0.0.0/8')
})
afterAll(async () => {
  await capture?.stop()
})

describe('interop with xl2tpd', () => {
  it('our LAC toward xl2tpd as LNS: challenge both ways, hidden AVPs both ways, session up to ICCN, then xl2tpd CDN', async () => {
    const x = await startXl2tpd({
      listen: '127.0.0.30',
      secret: SECRET,
      sections: [
        '[lns default]',
        'ip range = 10.99.0.2-10.99.0.200',
        'local ip = 10.99.0.1',
        'require authentication = no',
        'challenge = yes',
        'hidden bit = yes',
        'length bit = yes',
        'hostname = xl2tpd-lns',
        'pppoptfile = $DIR/options',
      ].join('\n'),
    })
    const events: L2tpEvent[] = []
    const effects: Effect[] = []
    const lac = endpoint('127.0.0.31', 'LAC', events, effects)
    await lac.start()
    try {
      lac.input({ _tag: 'OpenTunnel', peer: { host: '127.0.0.30', port } })
      await waitFor('tunnel', () => events.some((e) => e.type === 'TunnelEstablished'))
      const tunnel = events.find((e) => e.type === 'TunnelEstablished')
      expect(tunnel).toMatchObject({ authenticated: true, peerHostName: 'xl2tpd-lns', secretRef: 'lab' })
      // xl2tpd's log is written asynchronously: wait for the line rather than read it once.
      await waitFor(
        'xl2tpd to log the challenge reply',
        () => x.log().includes('chalresp_avp: Challenge reply found'),
        15_000,
      )
      const tid = [...lac.engine.tunnels.keys()][0] as number
      lac.input({
        _tag: 'OpenSession',
        tunnelId: tid,
        direction: 'incoming',
        params: { callingNumber: '5551234' },
      })
      await waitFor('session and its CDN', () => events.some((e) => e.type === 'SessionClosed'))
      expect(events.map((e) => e.type)).toEqual(['TunnelEstablished', 'SessionEstablished', 'SessionClosed'])
      expect(events[2]).toMatchObject({ closedBy: 'peer' })
      // xl2tpd un-hid our hidden AVPs (it logs the values) ...
      await waitFor(
        'xl2tpd to log the un-hidden AVPs',
        () => /assigned_call_avp: using peer's call \d+/.test(x.log()),
        15_000,
      )
      expect(x.log()).toContain('rand_vector_avp: Random Vector of 16 octets')
      // xl2tpd 1.3.18 never hides the AVPs it sends (its "hidden bit" setting does not reach
      // its encoder), so the other direction is covered by test/nodes/wire vectors instead.
      expect(lac.engine.stats.malformed).toBe(0)
      // The node's own table, kept with the registry's evolve, shows the tunnel without the session.
      expect(lac.table.tunnels.get(tid)?.sessions.size).toBe(0)
    } finally {
      await lac.stop()
      await x.stop()
    }
  })

  it('xl2tpd as LAC toward our LNS: tunnel and session established, then xl2tpd CDN', async () => {
    const events: L2tpEvent[] = []
    const effects: Effect[] = []
    const lns = endpoint('127.0.0.32', 'LNS', events, effects)
    await lns.start()
    const x = await startXl2tpd({
      listen: '127.0.0.33',
      secret: SECRET,
      sections: [
        '[lac ours]',
        'lns = 127.0.0.32',
        'require authentication = no',
        'challenge = yes',
        'hidden bit = yes',
        'length bit = yes',
        'hostname = xl2tpd-lac',
        'pppoptfile = $DIR/options',
        'autodial = yes',
      ].join('\n'),
    })
    try {
      await waitFor('tunnel', () => events.some((e) => e.type === 'TunnelEstablished'), 30_000)
      await waitFor('session closed by xl2tpd', () => events.some((e) => e.type === 'SessionClosed'), 30_000)
      const types = events.map((e) => e.type)
      expect(types.slice(0, 2)).toEqual(['TunnelEstablished', 'SessionEstablished'])
      expect(events[0]).toMatchObject({ authenticated: true, peerHostName: 'xl2tpd-lac', originator: 'peer' })
      expect(events.find((e) => e.type === 'SessionClosed')).toMatchObject({ closedBy: 'peer' })
      expect(lns.engine.stats.malformed).toBe(0)
    } finally {
      await x.stop()
      await lns.stop()
    }
  })

  it('FO-53: no FSQ toward xl2tpd, a peer without RFC 4951 (it clears the tunnel on the mandatory FSS AVP); the tunnel stays up', async () => {
    const events: L2tpEvent[] = []
    const effects: Effect[] = []
    const lns = endpoint('127.0.0.34', 'LNS', events, effects, {
      channel: { ...DEFAULT_CHANNEL, helloIntervalMs: 1000 },
      failover: { control: true, data: true, recoveryTimeMs: 30_000 },
    })
    await lns.start()
    const x = await startXl2tpd({
      listen: '127.0.0.35',
      secret: SECRET,
      sections: [
        '[lac ours]',
        'lns = 127.0.0.34',
        'require authentication = no',
        'challenge = yes',
        'hidden bit = no',
        'length bit = yes',
        'hostname = xl2tpd-lac',
        'pppoptfile = $DIR/options',
        'autodial = yes',
      ].join('\n'),
    })
    try {
      await waitFor('tunnel', () => events.some((e) => e.type === 'TunnelEstablished'), 30_000)
      await waitFor('session closed by xl2tpd', () => events.some((e) => e.type === 'SessionClosed'), 30_000)
      expect(events[0]).toMatchObject({ type: 'TunnelEstablished', peerFailover: null })
      const t = [...lns.engine.tunnels.values()].find((x) => x.state === 'established')
      if (t === undefined) throw new Error('no tunnel')
      // A session only we believe in (what Step II is for) would go into an FSQ.
      t.sessions.set(0x4242, { ...newSession(0x4242, 'incoming', 1), state: 'established', peerId: 0x4343 })
      const ns = t.channel.ns
      const fx = lns.input({ _tag: 'QuerySessions', tunnelId: t.localId })
      expect(fx).toEqual([{ _tag: 'Dropped', reason: expect.stringMatching(/did not advertise failover/) }])
      expect(t.channel.ns).toBe(ns)
      // HELLOs go on being acknowledged: xl2tpd keeps the tunnel.
      const sent = lns.sent
      await new Promise((r) => setTimeout(r, 3000))
      expect(lns.sent).toBeGreaterThan(sent)
      expect(t.state).toBe('established')
      expect(t.channel.dead).toBe(false)
      expect(t.channel.inFlight).toEqual([])
      expect(events.filter((e) => e.type === 'TunnelClosed')).toEqual([])
    } finally {
      await x.stop()
      await lns.stop()
    }
  })

  it('xl2tpd stopped with SIGTERM sends no StopCCN: our side declares the tunnel dead after the retransmissions (L2-42)', async () => {
    const x = await startXl2tpd({
      listen: '127.0.0.34',
      secret: SECRET,
      sections: [
        '[lns default]',
        'ip range = 10.99.1.2-10.99.1.200',
        'local ip = 10.99.1.1',
        'challenge = no',
        'hostname = xl2tpd-lns',
        'pppoptfile = $DIR/options',
      ].join('\n'),
    })
    const events: L2tpEvent[] = []
    const effects: Effect[] = []
    // Short timers so the test is quick: HELLO after 1 s idle, first retransmission after 200 ms.
    const lac = endpoint('127.0.0.35', 'LAC', events, effects, {
      challenge: false,
      channel: { ...DEFAULT_CHANNEL, helloIntervalMs: 1000, initialTimeoutMs: 200, maxRetransmits: 5 },
    })
    await lac.start()
    try {
      lac.input({ _tag: 'OpenTunnel', peer: { host: '127.0.0.34', port } })
      await waitFor('tunnel', () => events.some((e) => e.type === 'TunnelEstablished'))
      const sentBefore = effects.filter((f) => f._tag === 'Send').length
      await x.stop('SIGTERM')
      await waitFor('dead tunnel', () => events.some((e) => e.type === 'TunnelClosed'), 40_000)
      expect(events.at(-1)).toMatchObject({ type: 'TunnelClosed', closedBy: 'timeout' })
      // What went out after the kill: one HELLO, then exactly 5 retransmissions of it (same Ns).
      const after = effects.filter((f) => f._tag === 'Send').slice(sentBefore) as Array<
        Extract<Effect, { _tag: 'Send' }>
      >
      const hellos = after.filter((f) => f.bytes.length === 20 && f.bytes[19] === 6)
      expect(hellos).toHaveLength(6)
      expect(new Set(hellos.map((h) => (h.bytes[8] as number) * 256 + (h.bytes[9] as number))).size).toBe(1)
      expect(lac.engine.tunnels.size).toBe(0)
    } finally {
      await lac.stop()
      await x.stop('SIGKILL')
    }
  }, 60_000)

  it('tshark decodes every packet we sent with no expert info of severity Error', async () => {
    // Control for the oracle itself: a malformed L2TP packet from another address is flagged.
    const bad = createSocket('udp4')
    await new Promise<void>((r) => bad.bind(1701, '127.0.0.36', () => r()))
    await new Promise((r) =>
      bad.send(
        Buffer.from('c8020020000000000000000080080000000000018fff0000000700', 'hex'),
        1701,
        '127.0.0.37',
        r,
      ),
    )
    bad.close()
    await capture.stop()
    expect(decodeCapture(capture.file, '127.0.0.36').errors.length).toBeGreaterThan(0)
    for (const src of ['127.0.0.31', '127.0.0.32', '127.0.0.35']) {
      const d = decodeCapture(capture.file, src)
      expect(d.l2tpPackets).toBeGreaterThan(0)
      expect(d.errors).toEqual([])
    }
    const ours = decodeCapture(capture.file, '127.0.0.31')
    // SCCRQ, SCCCN, ICRQ, ICCN at least, all recognised by tshark's L2TP dissector.
    for (const t of ['1', '3', '10', '12']) expect(ours.messageTypes).toContain(t)
  })
})
