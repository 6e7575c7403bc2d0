// setup: tunnels/s and sessions/s established on loopback. In one run:
//  (1) our LAC simulator (this process) -> our LNS (an l2tp-node child process), 200 tunnels
//  (2) the same simulator -> xl2tpd as LNS, 200 tunnels (xl2tpd is not built for more)
//  (3) our LNS (this process, for its memory) <- our LAC simulator (child), 2,000 x 10 sessions
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, unsafe } from '../contracts/index.js'
import { type EndpointConfig, engineConfigOf } from '../nodes/cli/config.js'
import { Simulation } from '../nodes/shell/simulator.js'
import { UdpEndpoint } from '../nodes/shell/udp-endpoint.js'
import { sessionCount } from '../registry/index.js'
import { startXl2tpd } from '../test/support/xl2tpd.js'
import { gc, printTable, writeResults } from './lib.js'

const port = unsafe.port(1701)
const dir = mkdtempSync(join(tmpdir(), 'bench-setup-'))

const endpointConfig = (id: string, role: 'LAC' | 'LNS', host: string): EndpointConfig =>
  ({ id, role, address: { host, port }, helloIntervalMs: 0, receiveWindow: 32 }) as unknown as EndpointConfig

const nodeFile = (name: string, id: string, role: 'LAC' | 'LNS', host: string): string => {
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    JSON.stringify({ nodeId: `bench-${name}`, endpoints: [endpointConfig(id, role, host)] }),
  )
  return file
}

const child = (args: string[]) =>
  spawn(process.execPath, ['--import', 'tsx', 'nodes/cli/l2tp-node.ts', ...args, '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })

let failures = 0

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One round of the in-process simulator toward `peer`; returns tunnels/s, then closes them. */
const round = async (host: string, peer: Address, tunnels: number): Promise<number> => {
  let run: Simulation | undefined
  const lac = new UdpEndpoint(
    engineConfigOf(endpointConfig('bench-lac', 'LAC', host)),
    { host, port },
    { endpointId: unsafe.endpointId('bench-lac'), nodeId: unsafe.nodeId('bench'), epoch: 1 },
    { onEffect: (f) => run?.onEffect(f) },
  )
  await lac.start()
  run = new Simulation(lac, { peer, tunnels, sessionsPerTunnel: 0, concurrentTunnels: tunnels })
  run.start()
  await Promise.race([run.done, sleep(120_000)])
  const p = run.progress
  for (const id of [...lac.engine.tunnels.keys()])
    lac.input({ _tag: 'CloseTunnel', tunnelId: id, resultCode: 1, reason: null })
  await sleep(500)
  await lac.stop()
  // A rare refusal (e.g. the peer still lingers on a reused tunnel id) is counted, not fatal.
  if (p.tunnelsUp < tunnels * 0.95)
    throw new Error(`only ${p.tunnelsUp}/${tunnels} tunnels came up toward ${peer.host}`)
  failures += p.tunnelsFailed + (tunnels - p.tunnelsUp - p.tunnelsFailed)
  return p.tunnelsUp / (((p.tunnelsDoneAt ?? Date.now()) - p.startedAt) / 1000)
}

/** A warm-up round, then the median of `rounds` rounds. */
const simulate = async (host: string, peer: Address, tunnels: number, rounds = 5): Promise<number> => {
  await round(host, peer, tunnels)
  const rates: number[] = []
  for (let i = 0; i < rounds; i++) rates.push(await round(host, peer, tunnels))
  return rates.sort((a, b) => a - b)[Math.floor(rounds / 2)] as number
}

export const setupBench = async (): Promise<void> => {
  // (1) ours -> ours, 200 tunnels
  const lnsChild = child(['--config', nodeFile('lns', 'bench-lns', 'LNS', '127.0.0.60')])
  await sleep(2500)
  const ours200 = await simulate('127.0.0.61', { host: '127.0.0.60', port }, 200)
  lnsChild.kill('SIGTERM')
  // (2) ours -> xl2tpd, 200 tunnels
  const x = await startXl2tpd({
    listen: '127.0.0.62',
    secret: 'unused',
    sections: [
      '[lns default]',
      'ip range = 10.98.0.2-10.98.0.250',
      'local ip = 10.98.0.1',
      'challenge = no',
      'hostname = xl2tpd',
      'pppoptfile = $DIR/options',
    ].join('\n'),
  })
  let xl2tpd200: number
  try {
    xl2tpd200 = await simulate('127.0.0.63', { host: '127.0.0.62', port }, 200)
  } finally {
    await x.stop()
  }
  // (3) our LNS in this process, 2,000 tunnels x 10 sessions from a simulator child
  const TUNNELS = 2000
  const SESSIONS = 10
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  let first = 0
  let tunnelsAt = 0
  let sessionsAt = 0
  let tunnelsUp = 0
  let sessionsUp = 0
  const lns = new UdpEndpoint(
    engineConfigOf(endpointConfig('bench-lns', 'LNS', '127.0.0.64')),
    { host: '127.0.0.64', port },
    { endpointId: unsafe.endpointId('bench-lns'), nodeId: unsafe.nodeId('bench'), epoch: 1 },
    {
      onEffect: (f) => {
        if (first === 0 && f._tag !== 'Arm') first = performance.now()
        if (f._tag === 'TunnelUp' && ++tunnelsUp === TUNNELS) tunnelsAt = performance.now()
        if (f._tag === 'SessionUp' && ++sessionsUp === TUNNELS * SESSIONS) sessionsAt = performance.now()
      },
    },
  )
  await lns.start()
  const lacChild = child([
    '--config',
    nodeFile('lac', 'bench-lac2', 'LAC', '127.0.0.65'),
    '--simulate',
    'bench-lac2',
    '--peer',
    '127.0.0.64',
    '--tunnels',
    String(TUNNELS),
    '--sessions',
    String(SESSIONS),
    '--concurrency',
    '64',
  ])
  const until = Date.now() + 180_000
  while (sessionsUp < TUNNELS * SESSIONS && Date.now() < until) await sleep(100)
  await sleep(500)
  gc()
  const heapAfter = process.memoryUsage().heapUsed
  const sessions = sessionCount(lns.table)
  lacChild.kill('SIGTERM')
  await lns.stop()
  if (sessions !== TUNNELS * SESSIONS)
    throw new Error(`our LNS holds ${sessions} sessions, expected ${TUNNELS * SESSIONS}`)
  const figures = {
    tunnels: TUNNELS,
    sessions,
    oursTunnelsPerSec: Math.round(TUNNELS / ((tunnelsAt - first) / 1000)),
    sessionsPerSec: Math.round(sessions / ((sessionsAt - first) / 1000)),
    ours200TunnelsPerSec: Math.round(ours200),
    xl2tpdTunnelsPerSec: Math.round(xl2tpd200),
    ratio: Number((ours200 / xl2tpd200).toFixed(2)),
    bytesPerSessionNode: Math.round((heapAfter - heapBefore) / sessions),
    tunnelSetupFailures200: failures,
  }
  printTable(
    'setup (targets: ratio >= 2, sessionsPerSec >= 5000, bytesPerSessionNode <= 2048)',
    Object.entries(figures),
  )
  console.log('  ratio = ours/xl2tpd at 200 tunnels each, same simulator, LNS in its own process')
  console.log(`\nwrote ${writeResults('setup', figures)}`)
}
