// setup: tunnels/s and sessions/s established on loopback. In one run:
//  (1) our LAC simulator (this process) -> our LNS (an l2tp-node child process), 200 tunnels
//  (2) the same simulator -> xl2tpd as LNS, 200 tunnels (xl2tpd is not built for more);
//      (1) and (2) alternate after warm-up rounds, medians compared
//  (3) our LNS (this process, for its memory) <- our LAC simulator (child), 2,000 x 10 sessions
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, unsafe } from '../contracts/index.js'
import { type EndpointConfig, engineConfigOf } from '../nodes/cli/config.js'
import { Simulation } from '../nodes/shell/simulator.js'
import { UdpEndpoint } from '../nodes/shell/udp-endpoint.js'
import { sessionCount } from '../registry/index.js'
import { startXl2tpd } from '../test/support/xl2tpd.js'
import { gc, printTable, writeResults } from './lib.js'
import { setupProfile } from './setup-profile.js'

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

/** L2TP_BENCH_CPU_PROF=DIR: the child processes write V8 CPU profiles there (node --cpu-prof). */
const profDir = process.env.L2TP_BENCH_CPU_PROF
const profile = profDir === undefined || profDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir]

const child = (args: string[]) =>
  spawn(
    process.execPath,
    [...profile, '--import', 'tsx', 'nodes/cli/l2tp-node.ts', ...args, '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )

let failures = 0

/** CPU time a process has used so far, in ns, over all its threads (/proc schedstat). */
const cpuNs = (pid: number): number => {
  let total = 0
  for (const task of readdirSync(`/proc/${pid}/task`))
    total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
  return total
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let rounds = 0

/**
 * One round of the in-process simulator toward `peer`; returns tunnels/s, then closes them. Each
 * round speaks from its own loopback address: xl2tpd keeps closed tunnels around for a while and
 * ignores an SCCRQ that reuses one of their ids from the same address and port.
 */
const round = async (
  peer: Address,
  tunnels: number,
  lnsPid?: number,
): Promise<{ rate: number; cpuNs: number }> => {
  const host = `127.0.${100 + Math.floor(rounds / 250)}.${1 + (rounds % 250)}`
  rounds++
  let run: Simulation | undefined
  let lastUpAt = 0
  const lac = new UdpEndpoint(
    engineConfigOf(endpointConfig('bench-lac', 'LAC', host)),
    { host, port },
    { endpointId: unsafe.endpointId('bench-lac'), nodeId: unsafe.nodeId('bench'), epoch: 1 },
    {
      onEffect: (f) => {
        if (f._tag === 'TunnelUp') lastUpAt = Date.now()
        run?.onEffect(f)
      },
    },
  )
  await lac.start()
  run = new Simulation(lac, { peer, tunnels, sessionsPerTunnel: 0, concurrentTunnels: tunnels })
  const cpu0 = lnsPid === undefined ? 0 : cpuNs(lnsPid)
  run.start()
  await Promise.race([run.done, sleep(10_000)])
  const cpu = lnsPid === undefined ? 0 : cpuNs(lnsPid) - cpu0
  const p = run.progress
  for (const id of [...lac.engine.tunnels.keys()])
    lac.input({ _tag: 'CloseTunnel', tunnelId: id, resultCode: 1, reason: null })
  await sleep(300)
  await lac.stop()
  // A rare refusal is counted, not fatal; the rate counts the tunnels that came up.
  if (p.tunnelsUp < tunnels * 0.95)
    throw new Error(`only ${p.tunnelsUp}/${tunnels} tunnels came up toward ${peer.host}`)
  failures += tunnels - p.tunnelsUp
  return { rate: p.tunnelsUp / ((lastUpAt - p.startedAt) / 1000), cpuNs: cpu / p.tunnelsUp }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/**
 * The simulator is the measuring instrument, and it runs in this process: its code must be
 * compiled by the JIT before it measures anything (a cold round is 3x slower than a warm one),
 * and neither target may be measured on a colder instrument than the other. So: warm-up rounds
 * toward both, then rounds alternating between them, and the median of each.
 */
const XL2TPD_LNS = {
  listen: '127.0.0.62',
  secret: 'unused',
  debug: false,
  sections: [
    '[lns default]',
    'ip range = 10.98.0.2-10.98.0.250',
    'local ip = 10.98.0.1',
    'challenge = no',
    'hostname = xl2tpd',
    'pppoptfile = $DIR/options',
  ].join('\n'),
}

/**
 * Our LNS is a long-running process whose code the JIT compiles as it runs, like the simulator
 * (this process): both are warmed up first with rounds toward our LNS. xl2tpd gets a fresh
 * process for every round, with 200 tunnels only (it keeps closed tunnels around and is not
 * built for more), and no debug logging: the best conditions for it. Rounds alternate.
 */
const compare = async (
  ours: Address,
  oursPid: number,
  warmups = 25,
  measured = 9,
): Promise<{ ours: number; theirs: number; oursCpuUs: number; theirsCpuUs: number }> => {
  for (let i = 0; i < warmups; i++) await round(ours, 200)
  const a: Array<{ rate: number; cpuNs: number }> = []
  const b: Array<{ rate: number; cpuNs: number }> = []
  for (let i = 0; i < measured; i++) {
    a.push(await round(ours, 200, oursPid))
    const x = await startXl2tpd(XL2TPD_LNS)
    try {
      b.push(await round({ host: XL2TPD_LNS.listen, port }, 200, x.pid))
    } finally {
      await x.stop()
    }
  }
  return {
    ours: median(a.map((r) => r.rate)),
    theirs: median(b.map((r) => r.rate)),
    oursCpuUs: median(a.map((r) => r.cpuNs)) / 1000,
    theirsCpuUs: median(b.map((r) => r.cpuNs)) / 1000,
  }
}

export const setupBench = async (): Promise<void> => {
  // (1) and (2): the same in-process simulator toward our LNS (a child process) and xl2tpd
  const lnsChild = child(['--config', nodeFile('lns', 'bench-lns', 'LNS', '127.0.0.60')])
  await sleep(2500)
  let r: Awaited<ReturnType<typeof compare>>
  try {
    r = await compare({ host: '127.0.0.60', port }, lnsChild.pid as number)
  } finally {
    lnsChild.kill('SIGTERM')
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
        if (first === 0 && f._tag !== 'Arm' && f._tag !== 'Disarm') first = performance.now()
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
    ours200TunnelsPerSec: Math.round(r.ours),
    xl2tpdTunnelsPerSec: Math.round(r.theirs),
    ratio: Number((r.ours / r.theirs).toFixed(2)),
    oursLnsCpuUsPerTunnel: Math.round(r.oursCpuUs),
    xl2tpdCpuUsPerTunnel: Math.round(r.theirsCpuUs),
    cpuRatio: Number((r.theirsCpuUs / r.oursCpuUs).toFixed(2)),
    bytesPerSession: Math.round((heapAfter - heapBefore) / sessions),
    tunnelSetupFailures200: failures,
    // In memory, same process (bench/setup-profile.ts): where the LNS's CPU per tunnel goes.
    ...Object.fromEntries(
      Object.entries(setupProfile()).map(([k, v]) => [`profile.${k}`, Number(v.toFixed(2))]),
    ),
  }
  printTable(
    'setup (targets: cpuRatio >= 1.0, ratio >= 1.2, sessionsPerSec >= 20000, bytesPerSession <= 2048)',
    Object.entries(figures),
  )
  console.log(
    '  ratio = ours/xl2tpd tunnels/s at 200 tunnels each, same warmed-up simulator, a fresh xl2tpd (no debug\n' +
      '  log) per round, medians of 9; cpuRatio = xl2tpd/ours LNS CPU time per tunnel set up (all threads)',
  )
  console.log(`\nwrote ${writeResults('setup', figures)}`)
}
