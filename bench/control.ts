// control: latency of operator commands on a busy node. One l2tp-node --control process holds
// 8,000 tunnels x 8 sessions (64,000 sessions) from our LAC; we time `status` and one page of
// `sessions` (limit 500) over NATS, beside a bare NATS request/reply echo in the same run (the
// floor). Rounds interleave the three so drift hits them alike. Target: statusP99 / echoP99 <= 2.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { endpointSubjects, ListSessions, nodeSubjects, unsafe } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import type { Effect } from '../nodes/engine/types.js'
import { UdpEndpoint } from '../nodes/shell/udp-endpoint.js'
import type { NatsConnection } from '../registry/shell/index.js'
import { natsAsNode, natsAsOperator, nodeProcessEnv } from '../test/support/identity.js'
import { engineConfig } from '../test/support/sim.js'
import { printTable, writeResults } from './lib.js'

const TUNNELS = Number(process.env.BENCH_TUNNELS ?? 8000)
const PER_TUNNEL = Number(process.env.BENCH_SESSIONS ?? 8)
const ROUNDS = 4
const PER_ROUND = { echo: 500, status: 500, list: 60 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const enc = new TextEncoder()

const percentile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN
}
const ms = (n: number) => Number(n.toFixed(3))

/** Times `n` sequential requests; each reply must be `ok` (the echo: the same bytes back). */
const timed = async (nc: NatsConnection, subject: string, body: Uint8Array, n: number, out: number[]) => {
  const echo = subject.endsWith('.bench-echo')
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const m = await nc.request(subject, body, { timeout: 10_000 })
    out.push(performance.now() - t0)
    const head = Buffer.from(m.data.subarray(0, 12)).toString()
    if (echo ? m.data.length !== body.length : !head.startsWith('{"ok":true'))
      throw new Error(`${subject}: ${Buffer.from(m.data.subarray(0, 200)).toString()}`)
  }
}

/** Paged listings exist when the codec refuses a `limit` of the wrong type (h1's paging). */
const pagingSupported = (): boolean =>
  ListSessions.decode({ type: 'ListSessions', v: 1, endpointId: 'x', localTunnelId: null, limit: 'x' })
    ._tag === 'Left'

const spawnNode = async (dir: string, nodeId: string, endpointId: string): Promise<ChildProcess> => {
  const file = join(dir, `${nodeId}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      nodeId,
      endpoints: [
        {
          id: endpointId,
          role: 'LNS',
          address: { host: '127.0.0.170', port: 1701 },
          hideAvps: false,
          receiveWindow: 64,
        },
      ],
    }),
  )
  return spawn(
    process.execPath,
    ['--import', 'tsx', 'nodes/cli/l2tp-node.ts', '--config', file, '--control', '--log-level', 'warn'],
    {
      env: { ...process.env, ...(await nodeProcessEnv(nodeId, [endpointId])) },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
}

const hold = async (lac: UdpEndpoint, state: { tunnels: number; sessions: number }) => {
  const peer = { host: '127.0.0.170', port: unsafe.port(1701) }
  for (let i = 0; i < TUNNELS; i += 200) {
    for (let k = i; k < Math.min(TUNNELS, i + 200); k++) lac.input({ _tag: 'OpenTunnel', peer })
    while (state.tunnels < Math.min(TUNNELS, i + 200)) await sleep(20)
  }
  const tunnels = [...lac.engine.tunnels.values()]
  for (let i = 0; i < tunnels.length; i += 500) {
    for (const t of tunnels.slice(i, i + 500))
      for (let s = 0; s < PER_TUNNEL; s++)
        lac.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
    while (state.sessions < Math.min(tunnels.length, i + 500) * PER_TUNNEL) await sleep(20)
  }
}

export const controlBench = async (): Promise<void> => {
  await up()
  const run = randomUUID().slice(0, 6)
  const nodeId = `bench-ctl-${run}`
  const endpointId = `bench-ctl-${run}`
  const node = await spawnNode(mkdtempSync(join(tmpdir(), 'bench-control-')), nodeId, endpointId)
  const state = { tunnels: 0, sessions: 0 }
  const lac = new UdpEndpoint(
    engineConfig({
      role: 'LAC',
      hostName: 'bench-lac',
      channel: {
        initialTimeoutMs: 1000,
        maxTimeoutMs: 8000,
        maxRetransmits: 5,
        ackDelayMs: 50,
        helloIntervalMs: 0,
        receiveWindow: 64,
      },
    }),
    { host: '127.0.0.171', port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId('bench-ctl-lac'), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    {
      onEffect: (f: Effect) => {
        if (f._tag === 'TunnelUp') state.tunnels++
        if (f._tag === 'SessionUp') state.sessions++
      },
    },
  )
  const operator = await natsAsOperator()
  const echoer = await natsAsNode(nodeId, [endpointId])
  try {
    await sleep(2000) // the node binds and answers
    await lac.start()
    const setupStart = Date.now()
    await hold(lac, state)
    const setupSeconds = (Date.now() - setupStart) / 1000
    // The floor: a bare request/reply echo on the node identity's own subject namespace.
    const echoSubject = `l2tp.node.${nodeId}.bench-echo`
    const sub = echoer.subscribe(echoSubject, { callback: (_e, m) => m.respond(m.data) })
    await echoer.flush()
    const status = enc.encode(JSON.stringify({ type: 'GetNodeStatus', v: 1 }))
    const paged = pagingSupported()
    const firstTunnel = [...lac.engine.tunnels.values()][0]?.peerAssignedId ?? null
    const list = enc.encode(
      JSON.stringify({
        type: 'ListSessions',
        v: 1,
        endpointId,
        // Without paging a whole-endpoint listing of 64,000 sessions exceeds the max payload.
        localTunnelId: paged ? null : firstTunnel,
        limit: 500,
      }),
    )
    const s = { echo: [] as number[], status: [] as number[], list: [] as number[] }
    await timed(operator, echoSubject, status, 50, [])
    await timed(operator, nodeSubjects(unsafe.nodeId(nodeId)).status, status, 50, [])
    for (let r = 0; r < ROUNDS; r++) {
      await timed(operator, echoSubject, status, PER_ROUND.echo, s.echo)
      await timed(operator, nodeSubjects(unsafe.nodeId(nodeId)).status, status, PER_ROUND.status, s.status)
      await timed(
        operator,
        endpointSubjects(unsafe.endpointId(endpointId)).sessions,
        list,
        PER_ROUND.list,
        s.list,
      )
    }
    sub.unsubscribe()
    const figures = {
      sessions: state.sessions,
      tunnels: state.tunnels,
      setupSeconds: ms(setupSeconds),
      listScope: paged
        ? 'one page of 500 (whole endpoint)'
        : `one tunnel (${PER_TUNNEL} sessions): no paging in this build`,
      samples: `${s.echo.length} echo, ${s.status.length} status, ${s.list.length} sessions`,
      echoP50Ms: ms(percentile(s.echo, 0.5)),
      echoP99Ms: ms(percentile(s.echo, 0.99)),
      statusP50Ms: ms(percentile(s.status, 0.5)),
      statusP99Ms: ms(percentile(s.status, 0.99)),
      listP50Ms: ms(percentile(s.list, 0.5)),
      listP99Ms: ms(percentile(s.list, 0.99)),
      ratio: ms(percentile(s.status, 0.99) / percentile(s.echo, 0.99)),
    }
    printTable('control (target: ratio = statusP99 / echoP99 <= 2; not asserted)', Object.entries(figures))
    console.log(`\nwrote ${writeResults('control', figures)}`)
  } finally {
    await lac.stop()
    node.kill('SIGTERM')
    await Promise.all([operator.close(), echoer.close()])
  }
}
