// The LAC simulator opens each tunnel's sessions once: a tunnel that comes up again after its
// peer failed over (RFC 4951 recovery) keeps the sessions it has.
import { describe, expect, it } from 'vitest'
import { unsafe } from '../../../contracts/index.js'
import type { Input } from '../../../nodes/engine/types.js'
import { Simulation } from '../../../nodes/shell/simulator.js'
import type { UdpEndpoint } from '../../../nodes/shell/udp-endpoint.js'

const flush = () => new Promise((r) => setTimeout(r, 0))

describe('LAC simulator', () => {
  it('opens the sessions of a tunnel once, not again when the tunnel is recovered', async () => {
    const inputs: Input[] = []
    const endpoint = { input: (i: Input) => inputs.push(i) } as unknown as UdpEndpoint
    const sim = new Simulation(endpoint, {
      peer: { host: '127.0.0.1', port: unsafe.port(1701) },
      tunnels: 1,
      sessionsPerTunnel: 3,
    })
    sim.start()
    await flush()
    expect(inputs.map((i) => i._tag)).toEqual(['OpenTunnel'])
    sim.onEffect({ _tag: 'TunnelUp', tunnelId: 7 })
    await flush()
    sim.onEffect({ _tag: 'TunnelUp', tunnelId: 7 }) // recovered after a failover
    await flush()
    expect(inputs.filter((i) => i._tag === 'OpenSession')).toHaveLength(3)
    expect(sim.progress.tunnelsUp).toBe(1)
  })
})
