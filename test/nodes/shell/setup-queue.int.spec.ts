// Existing tunnels ahead of new ones under load (issue 12, overload limits): an LNS on loopback
// with established tunnels from our LAC, flooded with new SCCRQs from many sources. The sessions
// the LAC opens on its tunnels during the flood come up (their ICRQs are not queued behind the
// SCCRQs), the tunnels stay up, and every SCCRQ is either handled or counted as shed.
import { createSocket, type Socket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unsafe } from '../../../contracts/index.js'
import { createEngine, step } from '../../../nodes/engine/engine.js'
import type { Effect } from '../../../nodes/engine/types.js'
import { isNewTunnelRequest, SETUP_QUEUE_MAX, UdpEndpoint } from '../../../nodes/shell/udp-endpoint.js'
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
