// Operating a node as a process, with real Kafka and NATS: metrics and health in both modes
// (promtool clean), a plain node's graceful stop (StopCCN result 6 to every peer, TunnelClosed in
// the log, exit 0), an --ha node's graceful stop (released to the standby), and the registry's
// metrics and health.
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type L2tpEvent, LEASE_BUCKET, type TopicNames, unsafe } from '../../contracts/index.js'
import { decodeLease } from '../../nodes/shell/lease.js'
import { Simulation } from '../../nodes/shell/simulator.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { openKv, readEndpointHistory } from '../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../support/brokers.js'
import { waitFor } from '../support/churn.js'
import { natsAsRegistry, nodeProcessEnv } from '../support/identity.js'
import { engineConfig } from '../support/sim.js'
import {
  freePort,
  httpGet,
  type Program,
  promtoolCheck,
  spawnProgram,
  writeConfig,
} from '../support/spawn.js'

const RUN = Math.random().toString(36).slice(2, 8)
const FO = { control: true, data: true, recoveryTimeMs: 30_000 }
let names: TopicNames
let env: Record<string, string>
const programs: Program[] = []

const start = async (
  nodeId: string,
  endpointId: string,
  host: string,
  args: string[],
  extra: Record<string, unknown> = {},
) => {
  const file = writeConfig({
    ...extra,
    nodeId,
    endpoints: [{ id: endpointId, role: 'LNS', address: { host, port: 1701 }, failover: FO }],
  })
  const p = spawnProgram('nodes/cli/l2tp-node.ts', ['--config', file, '--publish', ...args], {
    ...env,
    ...(await nodeProcessEnv(nodeId, [endpointId])),
  })
  programs.push(p)
  return p
}

const ready = async (port: number, p: Program) => {
  const until = Date.now() + 60_000
  while ((await httpGet(port, '/readyz')).status !== 200) {
    if (Date.now() > until || p.proc.exitCode !== null)
      throw new Error(
        `not ready: ${(await httpGet(port, '/readyz')).body} exit ${p.proc.exitCode} ${p.stderr()} ${p.lines.join('\n')}`,
      )
    await new Promise((r) => setTimeout(r, 200))
  }
}

const expectCleanMetrics = async (port: number, wanted: RegExp[]) => {
  const m = await httpGet(port, '/metrics')
  expect(m.status).toBe(200)
  for (const w of wanted) expect(m.body).toMatch(w)
  expect(await promtoolCheck(m.body)).toEqual({ code: 0, output: '' })
}

const lacAt = async (host: string, lns: string, tunnels: number, sessions: number) => {
  const events: L2tpEvent[] = []
  let sim: Simulation | undefined
  const ep = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: `lac-${RUN}`, failover: FO }),
    { host, port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId(`ops-lac-${RUN}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    { onEvent: (e) => events.push(e), onEffect: (f) => sim?.onEffect(f) },
  )
  await ep.start()
  sim = new Simulation(ep, {
    peer: { host: lns, port: unsafe.port(1701) },
    tunnels,
    sessionsPerTunnel: sessions,
  })
  sim.start()
  await sim.done
  return { ep, events }
}

beforeAll(async () => {
  names = await freshTopics(4)
  env = { L2TP_TOPIC_PREFIX: names.events.replace('l2tp.events', '') }
})
afterAll(() => {
  for (const p of programs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL')
})

describe('a node as a process', () => {
  it('plain: metrics and health; SIGTERM closes every tunnel with StopCCN 6, logs TunnelClosed, exits 0', async () => {
    const endpointId = `ops-plain-${RUN}`
    const port = await freePort()
    const node = await start('ops-plain', endpointId, '127.0.0.181', [
      '--control',
      '--metrics-port',
      String(port),
    ])
    await ready(port, node)
    expect(await httpGet(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' })
    const lac = await lacAt('127.0.0.182', '127.0.0.181', 3, 2)
    await waitFor('the node to see its tunnels', () => lac.ep.engine.tunnels.size === 3)
    await expectCleanMetrics(port, [
      new RegExp(`l2tp_tunnels\\{endpoint="${endpointId}"\\} 3`),
      /# TYPE l2tp_datagrams_total counter/,
      /# TYPE process_cpu_seconds_total counter/,
      /# TYPE l2tp_outbox_pending gauge/,
    ])
    node.proc.kill('SIGTERM')
    expect(await node.exited).toBe(0)
    const closed = lac.events.filter((e) => e.type === 'TunnelClosed')
    expect(closed).toHaveLength(3)
    for (const c of closed) expect(c).toMatchObject({ resultCode: 6, closedBy: 'peer' })
    const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'ops'), endpointId)())
    const logged = h.events.map((e) => e.event).filter((e) => e.type === 'TunnelClosed')
    expect(logged).toHaveLength(3)
    for (const c of logged) expect(c).toMatchObject({ resultCode: 6, closedBy: 'local' })
    // ...and the endpoint released last, so the registry shows it released, not a silent owner.
    expect(h.events.at(-1)?.event).toMatchObject({ type: 'EndpointReleased', reason: 'node stopping' })
    expect(
      node.lines.some((l) => l.includes('"tunnel down"') && l.includes(`"endpoint":"${endpointId}"`)),
    ).toBe(true)
    await lac.ep.stop()
  }, 120_000)

  it('plain: a silent peer holds the stop only up to --stop-timeout-ms; meanwhile /readyz says stopping', async () => {
    const endpointId = `ops-silent-${RUN}`
    const port = await freePort()
    const node = await start('ops-silent', endpointId, '127.0.0.187', [
      '--metrics-port',
      String(port),
      '--stop-timeout-ms',
      '3000',
    ])
    await ready(port, node)
    const lac = await lacAt('127.0.0.188', '127.0.0.187', 2, 1)
    await lac.ep.stop() // the peer goes silent: our StopCCNs are never acknowledged
    node.proc.kill('SIGTERM')
    let seen = { status: 0, body: '' }
    while (node.proc.exitCode === null && seen.status !== 503) seen = await httpGet(port, '/readyz')
    expect(seen).toEqual({ status: 503, body: 'stopping\n' })
    expect(await node.exited).toBe(0)
    const summary = node.lines.find((l) => l.includes('"tunnels closed for shutdown"'))
    expect(summary).toContain('"closed":2')
    expect(summary).toContain('"unacknowledged":2')
    const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'ops'), endpointId)())
    expect(h.events.filter((e) => e.event.type === 'TunnelClosed')).toHaveLength(2)
  }, 120_000)

  it('--ha with --metrics-port: /metrics promtool clean, lease state; SIGTERM releases to the standby', async () => {
    const endpointId = `ops-ha-${RUN}`
    const [p1, p2] = [await freePort(), await freePort()]
    const node1 = await start('ops-ha-1', endpointId, '127.0.0.183', ['--ha', '--metrics-port', String(p1)])
    await ready(p1, node1)
    const served = new RegExp(`l2tp_lease_held\\{endpoint="${endpointId}"\\} 1`)
    await waitFor('node-1 to hold the lease', () => node1.lines.some((l) => l.includes('"serving endpoint"')))
    await expectCleanMetrics(p1, [served, /# TYPE l2tp_recovery_recovered_total counter/, /l2tp_lease_epoch/])
    // metricsPort from the config file, not the flag: --ha honours both.
    const node2 = await start('ops-ha-2', endpointId, '127.0.0.183', ['--ha'], { metricsPort: p2 })
    await ready(p2, node2) // standing by is ready too
    await expectCleanMetrics(p2, [new RegExp(`l2tp_endpoint_serving\\{endpoint="${endpointId}"\\} 0`)])
    node1.proc.kill('SIGTERM')
    expect(await node1.exited).toBe(0)
    const nc = await natsAsRegistry() // the registry may read leases; operators may not
    try {
      const kv = rightOrThrow(await openKv(nc, LEASE_BUCKET)())
      const owner = async () => {
        const v = await kv.get(endpointId)()
        return E.isRight(v) && v.right !== null ? decodeLease(v.right.value)?.node : undefined
      }
      const until = Date.now() + 30_000
      while ((await owner()) !== 'ops-ha-2' && Date.now() < until)
        await new Promise((r) => setTimeout(r, 200))
      expect(await owner()).toBe('ops-ha-2')
    } finally {
      await nc.close()
    }
    const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'ops'), endpointId)())
    expect(h.events.some((e) => e.event.type === 'EndpointReleased' && e.event.nodeId === 'ops-ha-1')).toBe(
      true,
    )
    await waitFor('node-2 to serve', () => node2.lines.some((l) => l.includes('"serving endpoint"')), 30_000)
    node2.proc.kill('SIGTERM')
    expect(await node2.exited).toBe(0)
  }, 180_000)
})

describe('the registry as a process', () => {
  it('serves /metrics (promtool clean), /healthz and /readyz', async () => {
    const port = await freePort()
    const reg = spawnProgram(
      'registry/cli/l2tp-registry.ts',
      ['--metrics-port', String(port), '--group', `ops-${RUN}`],
      env,
    )
    programs.push(reg)
    await ready(port, reg)
    expect((await httpGet(port, '/healthz')).status).toBe(200)
    await expectCleanMetrics(port, [
      /# TYPE l2tp_registry_events_total counter/,
      /# TYPE l2tp_registry_endpoints gauge/,
      /# TYPE nodejs_heap_size_used_bytes gauge/,
    ])
    reg.proc.kill('SIGTERM')
    expect(await reg.exited).toBe(0)
  }, 120_000)
})
