// An LNS that publishes its events and our LAC simulator churning sessions against it, on
// loopback: the setting of the registry's end-to-end tests.
import { unsafe } from '../../contracts/index.js'
import type { Effect } from '../../nodes/engine/types.js'
import { type Publishing, startPublishing } from '../../nodes/shell/publishing.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import type { EventLogDeps } from '../../registry/shell/index.js'
import { mulberry32 } from './history.js'
import { engineConfig } from './sim.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const waitFor = async (what: string, cond: () => boolean, ms = 60_000): Promise<void> => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

export interface Rig {
  readonly lns: UdpEndpoint
  readonly lac: UdpEndpoint
  readonly publishing: Publishing
  readonly up: { tunnels: number; sessions: number }
  readonly stop: () => Promise<void>
}

export const startRig = async (
  deps: EventLogDeps,
  endpointId: string,
  lnsHost: string,
  lacHost: string,
): Promise<Rig> => {
  const port = unsafe.port(1701)
  const lns = new UdpEndpoint(
    engineConfig({ role: 'LNS', hostName: endpointId }),
    { host: lnsHost, port },
    { endpointId: unsafe.endpointId(endpointId), nodeId: unsafe.nodeId('node-1'), epoch: 1 },
  )
  await lns.start()
  const publishing = await startPublishing(lns, deps, () => undefined, {
    capacity: 200_000,
    highWater: 150_000,
    batch: 200,
  })
  const up = { tunnels: 0, sessions: 0 }
  const lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: 'lac-sim' }),
    { host: lacHost, port },
    { endpointId: unsafe.endpointId(`${endpointId}-lac`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    {
      onEffect: (f: Effect) => {
        if (f._tag === 'TunnelUp') up.tunnels++
        if (f._tag === 'SessionUp') up.sessions++
      },
    },
  )
  await lac.start()
  return {
    lns,
    lac,
    publishing,
    up,
    stop: async () => {
      await lac.stop()
      await publishing.outbox.close()
      await lns.stop()
    },
  }
}

/** Opens `tunnels` tunnels and `sessions` sessions spread over them, closing some at random. */
export const churn = async (
  rig: Rig,
  o: { tunnels: number; sessions: number; closeRatio: number; seed: number },
): Promise<void> => {
  const rnd = mulberry32(o.seed)
  const peer = rig.lns.bind
  const before = rig.up.tunnels
  for (let i = 0; i < o.tunnels; i++) rig.lac.input({ _tag: 'OpenTunnel', peer })
  await waitFor('tunnels', () => rig.up.tunnels >= before + o.tunnels)
  const tunnels = [...rig.lac.engine.tunnels.values()].filter((t) => t.state === 'established')
  let opened = 0
  while (opened < o.sessions) {
    const batch = Math.min(200, o.sessions - opened)
    const target = rig.up.sessions + batch
    for (let i = 0; i < batch; i++) {
      const t = tunnels[Math.floor(rnd() * tunnels.length)]
      if (t !== undefined) rig.lac.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
    }
    opened += batch
    await waitFor('sessions', () => rig.up.sessions >= target)
    // Random closes from both sides.
    for (const t of tunnels) {
      for (const sid of [...t.sessions.keys()]) {
        if (rnd() < o.closeRatio / 10)
          rig.lac.input({
            _tag: 'CloseSession',
            tunnelId: t.localId,
            sessionId: sid,
            resultCode: 3,
            reason: 'churn',
          })
      }
    }
    for (const t of [...rig.lns.engine.tunnels.values()]) {
      for (const sid of [...t.sessions.keys()]) {
        if (rnd() < o.closeRatio / 20)
          rig.lns.input({
            _tag: 'CloseSession',
            tunnelId: t.localId,
            sessionId: sid,
            resultCode: 3,
            reason: 'churn',
          })
      }
    }
  }
}
