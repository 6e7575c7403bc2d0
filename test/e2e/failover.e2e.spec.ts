// RFC 4951 end to end with real processes and real Kafka: our LAC simulator holds 500 tunnels x
// 20 sessions toward endpoint lns-fo served by node-1 (an l2tp-node process publishing to Kafka).
// node-1 gets SIGKILL; node-2 starts on the same address, rehydrates lns-fo from Kafka under the
// next epoch and recovers every tunnel with the LAC. (No NATS lease yet: the test starts node-2.)
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type L2tpEvent, type TopicNames, unsafe } from '../../contracts/index.js'
import type { Effect } from '../../nodes/engine/types.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { foldHistory, readEndpointHistory } from '../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../support/brokers.js'
import { sleep, waitFor } from '../support/churn.js'
import { engineConfig } from '../support/sim.js'

const EP = 'lns-fo'
const TUNNELS = Number(process.env.FO_TUNNELS ?? 500)
const SESSIONS = Number(process.env.FO_SESSIONS ?? 20)
const FAILOVER = { control: true, data: true, recoveryTimeMs: 60_000 }
let names: TopicNames
let dir: string
const procs: ChildProcess[] = []

const startNode = (nodeId: string): ChildProcess => {
  const file = join(dir, `${nodeId}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      nodeId,
      endpoints: [
        {
          id: EP,
          role: 'LNS',
          address: { host: '127.0.0.90', port: 1701 },
          failover: FAILOVER,
          hideAvps: false,
        },
      ],
    }),
  )
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', 'nodes/cli/l2tp-node.ts', '--config', file, '--publish', '--log-level', 'warn'],
    {
      env: { ...process.env, L2TP_TOPIC_PREFIX: names.events.replace('l2tp.events', '') },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  procs.push(p)
  return p
}

beforeAll(async () => {
  names = await freshTopics()
  dir = mkdtempSync(join(tmpdir(), 'failover-'))
})
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL')
})

describe('crash of the owner, recovery by a replacement', () => {
  it('every session established before the kill is still up, both sides agree, new events carry the new epoch', async () => {
    const node1 = startNode('node-1')
    const events: L2tpEvent[] = []
    const up = { tunnels: 0, sessions: 0, recovered: 0 }
    const lac = new UdpEndpoint(
      engineConfig({ role: 'LAC', hostName: 'lac-fo', failover: FAILOVER }),
      { host: '127.0.0.91', port: unsafe.port(1701) },
      { endpointId: unsafe.endpointId('lac-fo'), nodeId: unsafe.nodeId('sim'), epoch: 1 },
      {
        onEvent: (e) => {
          events.push(e)
          if (e.type === 'TunnelRecovered') up.recovered++
        },
        onEffect: (f: Effect) => {
          if (f._tag === 'TunnelUp') up.tunnels++
          if (f._tag === 'SessionUp') up.sessions++
        },
      },
    )
    await lac.start()
    try {
      await sleep(3000) // node-1 up and publishing
      const peer = { host: '127.0.0.90', port: unsafe.port(1701) }
      for (let i = 0; i < TUNNELS; i++) lac.input({ _tag: 'OpenTunnel', peer })
      await waitFor('tunnels', () => up.tunnels === TUNNELS, 60_000)
      for (const t of [...lac.engine.tunnels.values()])
        for (let s = 0; s < SESSIONS; s++)
          lac.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
      await waitFor('sessions', () => up.sessions === TUNNELS * SESSIONS, 60_000)
      await sleep(1500) // node-1's outbox flushes
      const before = new Set(
        [...lac.engine.tunnels.values()].flatMap((t) =>
          [...t.sessions.values()].map((s) => `${t.peerAssignedId}/${s.peerId}`),
        ),
      )
      node1.kill('SIGKILL')
      await sleep(500)
      startNode('node-2')
      await waitFor('every tunnel recovered', () => up.recovered === TUNNELS, 90_000).catch((e) => {
        console.log('LAC events', JSON.stringify(events.slice(-6)), up)
        throw e
      })
      // The LAC lost nothing: no tunnel or session closed, every session of before is still up.
      expect(events.filter((e) => e.type === 'SessionClosed' || e.type === 'TunnelClosed')).toEqual([])
      const after = new Set(
        [...lac.engine.tunnels.values()].flatMap((t) =>
          [...t.sessions.values()].map((s) => `${t.peerAssignedId}/${s.peerId}`),
        ),
      )
      expect(after).toEqual(before)
      // The log, folded, agrees with the LAC (after node-2's FSQ/FSR settled).
      await sleep(3000)
      const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'fo'), EP)())
      const table = foldHistory(EP, h.events)
      expect(table.epoch).toBe(2)
      expect(table.owner).toBe('node-2')
      expect(table.consistent).toBe(true)
      const logged = new Set(
        [...table.tunnels.values()].flatMap((t) =>
          [...t.sessions.values()].map((s) => `${t.localTunnelId}/${s.localSessionId}`),
        ),
      )
      expect(logged).toEqual(after)
      expect(h.events.filter((e) => e.event.nodeId === 'node-2').every((e) => e.event.epoch === 2)).toBe(true)
      expect(h.events.filter((e) => e.event.type === 'TunnelRecovered')).toHaveLength(TUNNELS)
    } finally {
      await lac.stop()
    }
  }, 300_000)
})
