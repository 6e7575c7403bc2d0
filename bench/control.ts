// control: latency of operator requests to a real l2tp-node process (--control) holding 64,000
// sessions opened by our LAC simulator: `status` and one page of `sessions`, beside a bare NATS
// request/reply echo in the same run (the floor). Requests alternate so all three share the
// machine's conditions. Figures to bench/results/control.json.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { endpointSubjects, nodeSubjects, unsafe } from '../contracts/index.js'
import { up } from '../infra/cli.js'
import { Simulation } from '../nodes/shell/simulator.js'
import { UdpEndpoint } from '../nodes/shell/udp-endpoint.js'
import type { NatsConnection } from '../registry/shell/index.js'
import { natsAsNode, natsAsOperator, nodeProcessEnv } from '../test/support/identity.js'
import { engineConfig } from '../test/support/sim.js'
import { printTable, writeResults } from './lib.js'

const TUNNELS = Number(process.env.BENCH_TUNNELS ?? 640)
const PER_TUNNEL = Number(process.env.BENCH_SESSIONS ?? 100)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const enc = new TextEncoder()

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
}

const timed = async (nc: NatsConnection, subject: string, body: Uint8Array): Promise<number> => {
  const t0 = process.hrtime.bigint()
  const reply = await nc.request(subject, body, { timeout: 10_000 })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (reply.data.length === 0) throw new Error(`empty reply on ${subject}`)
  return ms
}

const startNode = (dir: string, nodeId: string, endpointId: string, env: Record<string, string>) => {
  const file = join(dir, 'lns.json')
  writeFileSync(
    file,
    JSON.stringify({
      nodeId,
      endpoints: [
        { id: endpointId, role: 'LNS', address: { host: '127.0.0.110', port: 1701 }, receiveWindow: 64 },
      ],
    }),
  )
  return spawn(
    process.execPath,
    ['--import', 'tsx', 'nodes/cli/l2tp-node.ts', '--config', file, '--control', '--log-level', 'warn'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] },
  )
}

const holdSessions = async (endpointId: string): Promise<UdpEndpoint> => {
  let sim: Simulation | null = null
  const lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: 'lac-bench' }),
    { host: '127.0.0.111', port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId(`lac-${endpointId}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    { onEffect: (f) => sim?.onEffect(f) },
  )
  await lac.start()
  sim = new Simulation(lac, {
    peer: { host: '127.0.0.110', port: unsafe.port(1701) },
    tunnels: TUNNELS,
    sessionsPerTunnel: PER_TUNNEL,
  })
  sim.start()
  await sim.done
  if (sim.progress.sessionsUp !== TUNNELS * PER_TUNNEL)
    throw new Error(`only ${sim.progress.sessionsUp} sessions came up`)
  return lac
}

export const controlBench = async (): Promise<void> => {
  await up()
  const run = randomUUID().slice(0, 6)
  const nodeId = `bench-ctl-${run}`
  const endpointId = `bench-ctl-${run}`
  const node: ChildProcess = startNode(
    mkdtempSync(join(tmpdir(), 'bench-control-')),
    nodeId,
    endpointId,
    await nodeProcessEnv(nodeId, [endpointId]),
  )
  // The floor: a bare responder under a node identity of its own, on a subject an operator may
  // ask (a node's status subject), answering with the request's bytes.
  const echoNode = `bench-echo-${run}`
  const [op, echoSide] = await Promise.all([natsAsOperator(), natsAsNode(echoNode, [])])
  try {
    await measure(op, echoSide, nodeId, endpointId, echoNode)
  } finally {
    await Promise.all([op.close(), echoSide.close()])
    node.kill('SIGTERM')
  }
}

const measure = async (
  op: NatsConnection,
  echoSide: NatsConnection,
  nodeId: string,
  endpointId: string,
  echoNode: string,
): Promise<void> => {
  const echoSubject = nodeSubjects(unsafe.nodeId(echoNode)).status
  echoSide.subscribe(echoSubject, { callback: (_e, m) => m.respond(m.data) })
  await echoSide.flush()
  const status = nodeSubjects(unsafe.nodeId(nodeId)).status
  const statusBody = enc.encode(JSON.stringify({ type: 'GetNodeStatus', v: 1 }))
  for (let i = 0; ; i++) {
    const ok = await timed(op, status, statusBody).then(
      () => true,
      () => false,
    )
    if (ok) break
    if (i > 300) throw new Error('the node did not answer')
    await sleep(100)
  }
  const lac = await holdSessions(endpointId)
  const sessions = endpointSubjects(unsafe.endpointId(endpointId)).sessions
  const pageBody = enc.encode(
    JSON.stringify({ type: 'ListSessions', v: 1, endpointId, localTunnelId: null, limit: 500 }),
  )
  const echoBody = enc.encode(JSON.stringify({ type: 'Echo', v: 1 }))
  const lat = { echo: [] as number[], status: [] as number[], list: [] as number[] }
  for (let i = 0; i < ROUNDS + 100; i++) {
    const e = await timed(op, echoSubject, echoBody)
    const s = await timed(op, status, statusBody)
    const l = i % 4 === 0 ? await timed(op, sessions, pageBody) : null
    if (i < 100) continue // warm-up
    lat.echo.push(e)
    lat.status.push(s)
    if (l !== null) lat.list.push(l)
  }
  const figures = {
    sessions: TUNNELS * PER_TUNNEL,
    rounds: ROUNDS,
    echoP50Ms: quantile(lat.echo, 0.5),
    echoP99Ms: quantile(lat.echo, 0.99),
    statusP50Ms: quantile(lat.status, 0.5),
    statusP99Ms: quantile(lat.status, 0.99),
    listP50Ms: quantile(lat.list, 0.5),
    listP99Ms: quantile(lat.list, 0.99),
    ratio: quantile(lat.status, 0.99) / quantile(lat.echo, 0.99),
  }
  printTable(
    `control: ${figures.sessions} sessions on one l2tp-node, ${ROUNDS} rounds`,
    Object.entries(figures).map(([k, v]) => [k, v] as const),
  )
  console.log(`results: ${writeResults('control', figures)}`)
  await lac.stop()
}
