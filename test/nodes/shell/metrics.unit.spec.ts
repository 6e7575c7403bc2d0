// Node metrics: counters as counters, refusals counted by the shell's reason, lease and outbox
// figures per endpoint, drain and outbox pressure kept apart.
import { describe, expect, it } from 'vitest'
import type { L2tpEvent } from '../../../contracts/index.js'
import { unsafe } from '../../../contracts/index.js'
import { REFUSED } from '../../../nodes/engine/types.js'
import { nodeMetrics } from '../../../nodes/shell/metrics.js'
import { EndpointWatch } from '../../../nodes/shell/observe.js'
import { UdpEndpoint } from '../../../nodes/shell/udp-endpoint.js'
import { engineConfig } from '../../support/sim.js'

const ID = unsafe.endpointId('m-lns')

const rejected = (stage: 'tunnel' | 'session', reason: string): L2tpEvent =>
  ({
    type: 'SetupRejected',
    v: 1,
    endpointId: ID,
    epoch: 1,
    seq: 1,
    at: 0,
    nodeId: 'n',
    peer: { host: '127.0.0.1', port: 1701 },
    stage,
    reason,
    resultCode: 2,
    errorCode: 4,
    localTunnelId: null,
  }) as unknown as L2tpEvent

const setup = () => {
  const ep = new UdpEndpoint(
    engineConfig({ role: 'LNS' }),
    { host: '127.0.0.1', port: unsafe.port(1701) },
    { endpointId: ID, nodeId: unsafe.nodeId('n'), epoch: 7 },
  )
  const lines: string[] = []
  const watch = new EndpointWatch(
    (_l, msg) => lines.push(msg),
    () => ep,
  )
  const registry = nodeMetrics(() => [
    { id: ID, endpoint: ep, outbox: null, watch, lease: { held: true, epoch: 7 } },
  ])
  return { ep, watch, registry, lines }
}

describe('node metrics', () => {
  it('types counters as counters and gauges as gauges, with default process metrics', async () => {
    const text = await setup().registry.metrics()
    expect(text).toContain('# TYPE l2tp_datagrams_total counter')
    expect(text).toContain('# TYPE l2tp_tunnels gauge')
    expect(text).toContain('# TYPE process_cpu_seconds_total counter')
    expect(text).toContain(`l2tp_lease_held{endpoint="${ID}"} 1`)
    expect(text).toContain(`l2tp_endpoint_epoch{endpoint="${ID}"} 7`)
    // No gauge carries the counter suffix (promtool refuses it).
    expect(text).not.toMatch(/# TYPE \w+_total gauge/)
  })

  it('counts refused set-ups by the reason that holds (drain before outbox), and the session limit', async () => {
    const { ep, watch, registry } = setup()
    ep.refusal.set('outbox', true)
    ep.refusal.set('drain', true)
    watch.onEvent(rejected('tunnel', REFUSED.tunnel))
    ep.refusal.set('drain', false)
    watch.onEvent(rejected('session', REFUSED.session))
    watch.onEvent(rejected('session', REFUSED.sessionLimit))
    const text = await registry.metrics()
    expect(text).toContain(`l2tp_refused_total{endpoint="${ID}",stage="tunnel",reason="drain"} 1`)
    expect(text).toContain(`l2tp_refused_total{endpoint="${ID}",stage="session",reason="outbox"} 1`)
    expect(text).toContain(`l2tp_refused_total{endpoint="${ID}",stage="session",reason="session-limit"} 1`)
    expect(text).toContain(`l2tp_refusing{endpoint="${ID}",reason="outbox"} 1`)
    expect(text).toContain(`l2tp_refusing{endpoint="${ID}",reason="drain"} 0`)
  })

  it('an outbox that drains does not lift a drain, and an undrain does not lift outbox pressure', () => {
    const { ep } = setup()
    ep.refusal.set('drain', true)
    ep.refusal.set('outbox', true)
    ep.refusal.set('outbox', false)
    expect(ep.engine.refuseNew).toBe(true)
    ep.refusal.set('outbox', true)
    ep.refusal.set('drain', false)
    expect(ep.engine.refuseNew).toBe(true)
    ep.refusal.set('outbox', false)
    expect(ep.engine.refuseNew).toBe(false)
  })
})
