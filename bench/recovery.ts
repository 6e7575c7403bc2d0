// recovery: 8,000 tunnels x 8 sessions (64,000 sessions) on one endpoint owned by node-1 (an
// l2tp-node --ha --publish process), node-2 standing by; SIGKILL node-1 and time the takeover:
// detection (lease claimed), rehydration (serving again: fence + the hot standby's tail + bind),
// all tunnels recovered (seen by the LAC); and, side by side, a cold rehydration of the same log.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { topicNames, unsafe } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import { kafkaBrokers } from '../infra/config.js'
import type { Effect } from '../nodes/engine/types.js'
import { UdpEndpoint } from '../nodes/shell/udp-endpoint.js'
import {
  ensureTopics,
  loadEndpointSnapshot,
  loadPartitionCheckpoint,
  makeKafka,
  rehydrateEndpoint,
} from '../registry/shell/index.js'
import { nodeProcessEnv } from '../test/support/identity.js'
import { engineConfig } from '../test/support/sim.js'
import { printTable, writeResults } from './lib.js'

const TUNNELS = Number(process.env.BENCH_TUNNELS ?? 8000)
const PER_TUNNEL = Number(process.env.BENCH_SESSIONS ?? 8)
const FAILOVER = { control: true, data: true, recoveryTimeMs: 120_000 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Bounded wait of the set-up: an owner lost meanwhile would otherwise hold the bench forever. */
const waitUpTo = async (what: string, cond: () => boolean, ms = 120_000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms / 1000} s (owner lost its lease?)`)
    await sleep(20)
  }
}

export const recoveryBench = async (): Promise<void> => {
  await up()
  const prefix = `benchfo${randomUUID().slice(0, 6)}.`
  await ensureTopics({ brokers: kafkaBrokers(), names: topicNames(prefix) })
  const dir = mkdtempSync(join(tmpdir(), 'bench-recovery-'))
  const endpointId = `bench-fo-${randomUUID().slice(0, 6)}`
  const marks: Record<string, number> = {}
  let serving: Record<string, unknown> = {}
  const natsEnv = {
    'node-1': await nodeProcessEnv('node-1', [endpointId]),
    'node-2': await nodeProcessEnv('node-2', [endpointId]),
  }
  const node = (nodeId: 'node-1' | 'node-2'): ChildProcess => {
    const file = join(dir, `${nodeId}.json`)
    writeFileSync(
      file,
      JSON.stringify({
        nodeId,
        endpoints: [
          {
            id: endpointId,
            role: 'LNS',
            address: { host: '127.0.0.100', port: 1701 },
            failover: FAILOVER,
            hideAvps: false,
            receiveWindow: 64,
          },
        ],
      }),
    )
    const p = spawn(
      process.execPath,
      [
        // BENCH_NODE_ARGS: extra node flags for the nodes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
        ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
        '--import',
        'tsx',
        'nodes/cli/l2tp-node.ts',
        '--config',
        file,
        '--publish',
        '--ha',
        '--log-level',
        'info',
      ],
      {
        env: { ...process.env, ...natsEnv[nodeId], L2TP_TOPIC_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let buf = ''
    const logTo = process.env.BENCH_NODE_LOG
    p.stdout?.on('data', (b: Buffer) => {
      if (logTo !== undefined) appendFileSync(`${logTo}.${nodeId}`, b)
      buf += b.toString()
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (nodeId !== 'node-2') continue
        if (line.includes('"lease acquired"')) marks.acquired ??= Date.now()
        if (line.includes('"serving endpoint"') && marks.serving === undefined) {
          marks.serving = Date.now()
          try {
            serving = JSON.parse(line) as Record<string, unknown>
          } catch {
            serving = {}
          }
        }
      }
    })
    return p
  }
  const node1 = node('node-1')
  await sleep(2500)
  const node2 = node('node-2')
  await sleep(1000)
  const state = { tunnels: 0, sessions: 0, recovered: 0, closed: 0 }
  const lac = new UdpEndpoint(
    engineConfig({
      role: 'LAC',
      hostName: 'bench-lac',
      failover: FAILOVER,
      channel: {
        initialTimeoutMs: 1000,
        maxTimeoutMs: 8000,
        maxRetransmits: 5,
        ackDelayMs: 50,
        helloIntervalMs: 0,
        receiveWindow: 64,
      },
    }),
    { host: '127.0.0.101', port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId('bench-lac'), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    {
      onEvent: (e) => {
        if (e.type === 'TunnelRecovered' && ++state.recovered === TUNNELS) marks.recovered = Date.now()
        if (e.type === 'TunnelClosed' || e.type === 'SessionClosed') state.closed++
      },
      onEffect: (f: Effect) => {
        if (f._tag === 'TunnelUp') state.tunnels++
        if (f._tag === 'SessionUp') state.sessions++
      },
    },
  )
  try {
    await lac.start() // inside: a failed bind still stops the nodes
    const peer = { host: '127.0.0.100', port: unsafe.port(1701) }
    for (let i = 0; i < TUNNELS; i += 200) {
      for (let k = i; k < Math.min(TUNNELS, i + 200); k++) lac.input({ _tag: 'OpenTunnel', peer })
      await waitUpTo('tunnels up', () => state.tunnels >= Math.min(TUNNELS, i + 200))
    }
    const tunnels = [...lac.engine.tunnels.values()]
    for (let i = 0; i < tunnels.length; i += 500) {
      for (const t of tunnels.slice(i, i + 500))
        for (let s = 0; s < PER_TUNNEL; s++)
          lac.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
      await waitUpTo('sessions up', () => state.sessions >= Math.min(tunnels.length, i + 500) * PER_TUNNEL)
    }
    const before = new Set(
      tunnels.flatMap((t) => [...t.sessions.values()].map((s) => `${t.localId}/${s.localId}`)),
    )
    await sleep(5000) // node-1 publishes everything
    const kill = Date.now()
    node1.kill('SIGKILL')
    const until = kill + 120_000
    while (marks.recovered === undefined && Date.now() < until) await sleep(50)
    await sleep(1000)
    const after = new Set(
      [...lac.engine.tunnels.values()].flatMap((t) =>
        [...t.sessions.values()].map((s) => `${t.localId}/${s.localId}`),
      ),
    )
    const preserved = [...before].filter((k) => after.has(k)).length
    // The same takeover read cold (snapshot + whole tail), measured here, after the run.
    const deps = {
      kafka: makeKafka({ brokers: kafkaBrokers(), clientId: 'bench-cold' }),
      names: topicNames(prefix),
    }
    const coldStart = performance.now()
    const cold = await rehydrateEndpoint(
      deps,
      unsafe.endpointId(endpointId),
      loadEndpointSnapshot,
      loadPartitionCheckpoint,
    )()
    const coldSeconds =
      cold._tag === 'Right' ? Number(((performance.now() - coldStart) / 1000).toFixed(3)) : -1
    const s = (at: number | undefined, from: number) =>
      at === undefined ? -1 : Number(((at - from) / 1000).toFixed(3))
    const figures = {
      tunnels: TUNNELS,
      sessionsBefore: before.size,
      sessionsPreserved: preserved,
      detectionSeconds: s(marks.acquired, kill),
      rehydrateSeconds: marks.acquired === undefined ? -1 : s(marks.serving, marks.acquired),
      hotStandby: serving.hot === true ? 'yes' : 'no',
      fenceMs: typeof serving.fenceMs === 'number' ? serving.fenceMs : -1,
      tailReadMs: typeof serving.rehydrateMs === 'number' ? serving.rehydrateMs : -1,
      tailEvents: typeof serving.tailEvents === 'number' ? serving.tailEvents : -1,
      coldRehydrateSeconds: coldSeconds,
      secondsToAllRecovered: s(marks.recovered, kill),
      tunnelsRecovered: state.recovered,
      closedAtLac: state.closed,
    }
    printTable(
      'recovery (target: secondsToAllRecovered <= 5 with the default lease, sessionsPreserved == sessionsBefore)',
      Object.entries(figures),
    )
    console.log(`\nwrote ${writeResults('recovery', figures)}`)
  } finally {
    await lac.stop()
    node2.kill('SIGTERM')
    node1.kill('SIGKILL')
  }
}
