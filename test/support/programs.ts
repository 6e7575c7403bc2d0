// Real programs for e2e tests: l2tp-node and l2tp-registry as child processes (NATS access of a
// node from identity.ts), l2tpctl run to completion, and a LAC simulator in this process.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { unsafe } from '../../contracts/index.js'
import { Simulation } from '../../nodes/shell/simulator.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { nodeProcessEnv } from './identity.js'
import { engineConfig } from './sim.js'

export const FAILOVER = { control: true, data: true, recoveryTimeMs: 60_000 }

export interface NodeSpec {
  readonly dir: string
  readonly nodeId: string
  readonly endpoints: ReadonlyArray<{ readonly id: string; readonly host: string }>
  /** Extra flags, e.g. ['--ha', '--publish'] or ['--control']. */
  readonly flags: readonly string[]
  /** L2TP_TOPIC_PREFIX of the test's own topics. */
  readonly topicPrefix?: string
}

/** Spawns `l2tp-node` with a config of LNS endpoints; its stderr goes to the test's. */
export const spawnNode = async (s: NodeSpec): Promise<ChildProcess> => {
  const file = join(s.dir, `${s.nodeId}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      nodeId: s.nodeId,
      endpoints: s.endpoints.map((e) => ({
        id: e.id,
        role: 'LNS',
        address: { host: e.host, port: 1701 },
        failover: FAILOVER,
        hideAvps: false,
      })),
    }),
  )
  const env = await nodeProcessEnv(
    s.nodeId,
    s.endpoints.map((e) => e.id),
  )
  return spawn(
    process.execPath,
    ['--import', 'tsx', 'nodes/cli/l2tp-node.ts', '--config', file, ...s.flags, '--log-level', 'warn'],
    {
      env: {
        ...process.env,
        ...env,
        ...(s.topicPrefix === undefined ? {} : { L2TP_TOPIC_PREFIX: s.topicPrefix }),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
}

/** Spawns `l2tp-registry` over the test's own topics. */
export const spawnRegistry = (topicPrefix: string, flags: readonly string[] = []): ChildProcess =>
  spawn(
    process.execPath,
    ['--import', 'tsx', 'registry/cli/l2tp-registry.ts', '--log-level', 'warn', ...flags],
    { env: { ...process.env, L2TP_TOPIC_PREFIX: topicPrefix }, stdio: ['ignore', 'ignore', 'inherit'] },
  )

export interface CtlResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `l2tpctl ARGS` to its end (as the operator). */
export const ctl = (args: readonly string[], env: Record<string, string> = {}): Promise<CtlResult> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'registry/cli/l2tpctl.ts', ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })

/** Our LAC holding `tunnels` x `sessions` toward `peer` (resolves once every one settled). */
export const holdTunnels = async (
  host: string,
  peer: string,
  tunnels: number,
  sessions: number,
): Promise<{ lac: UdpEndpoint; sim: Simulation }> => {
  let sim: Simulation | null = null
  const lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: `lac-${host}`, failover: FAILOVER }),
    { host, port: unsafe.port(1701) },
    {
      endpointId: unsafe.endpointId(`lac-${host.replaceAll('.', '-')}`),
      nodeId: unsafe.nodeId('sim'),
      epoch: 1,
    },
    { onEffect: (f) => sim?.onEffect(f) },
  )
  await lac.start()
  const s = new Simulation(lac, {
    peer: { host: peer, port: unsafe.port(1701) },
    tunnels,
    sessionsPerTunnel: sessions,
  })
  sim = s
  s.start()
  await s.done
  return { lac, sim: s }
}

/** Kills what is still running (SIGCONT first, for a stopped one). */
export const killAll = (procs: readonly ChildProcess[]): void => {
  for (const p of procs)
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGCONT')
      p.kill('SIGKILL')
    }
}
