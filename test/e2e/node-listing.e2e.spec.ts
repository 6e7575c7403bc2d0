// The crash of issue 9 as a regression test: the read-only auditor lists the sessions of a real
// `l2tp-node` LNS process (--control) holding 20,000 sessions opened by our LAC simulator. The
// answer comes in pages, every session exactly once, and the node stays up holding them. Then the
// real l2tpctl through shell pipes: `| cat` equals a redirect, `--json | node` parses, `| head`
// ends quietly.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  endpointSubjects,
  NodeStatus,
  nodeSubjects,
  SessionItem,
  TunnelItem,
  unsafe,
} from '../../contracts/index.js'
import type { Effect } from '../../nodes/engine/types.js'
import { Simulation } from '../../nodes/shell/simulator.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { type NatsConnection, request } from '../../registry/shell/index.js'
import { sleep } from '../support/churn.js'
import { cliProcessEnv, natsAsAuditor, nodeProcessEnv } from '../support/identity.js'
import { allItems } from '../support/paging.js'
import { engineConfig } from '../support/sim.js'

const RUN = Math.random().toString(36).slice(2, 8)
const NODE = `big-node-${RUN}`
const EP = `lns-big-${RUN}`
const LNS_HOST = '127.0.0.86'
const TUNNELS = 200
const SESSIONS = 100
const sh = promisify(execFile)

let dir: string
let node: ChildProcess
let exited: number | null | 'running' = 'running'
let lac: UdpEndpoint
let sim: Simulation
let auditor: NatsConnection
const lacDown = { sessions: 0 }

const until = async (what: string, cond: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end || exited !== 'running')
      throw new Error(`timed out waiting for ${what} (node: ${exited})`)
    await sleep(100)
  }
}

const nodeStatus = async () => {
  const r = await request(
    auditor,
    nodeSubjects(unsafe.nodeId(NODE)).status,
    { type: 'GetNodeStatus', v: 1 },
    5000,
  )()
  if (r._tag === 'Left') return null
  const d = NodeStatus.decode((r.right as { result?: unknown }).result)
  return d._tag === 'Right' ? d.right : null
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'node-listing-'))
  const config = join(dir, 'lns.json')
  writeFileSync(
    config,
    JSON.stringify({
      nodeId: NODE,
      endpoints: [{ id: EP, role: 'LNS', address: { host: LNS_HOST, port: 1701 } }],
    }),
  )
  node = spawn(
    process.execPath,
    ['--import', 'tsx', 'nodes/cli/l2tp-node.ts', '--config', config, '--control', '--log-level', 'warn'],
    {
      env: { ...process.env, ...(await nodeProcessEnv(NODE, [EP])) },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  node.on('exit', (code) => {
    exited = code
  })
  auditor = await natsAsAuditor()
  await until('the node to answer', async () => (await nodeStatus()) !== null, 60_000)
  lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: 'lac-big' }),
    { host: '127.0.0.87', port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId(`lac-big-${RUN}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    {
      onEffect: (f: Effect) => {
        if (f._tag === 'SessionDown') lacDown.sessions++
        sim?.onEffect(f)
      },
    },
  )
  await lac.start()
  sim = new Simulation(lac, {
    peer: { host: LNS_HOST, port: unsafe.port(1701) },
    tunnels: TUNNELS,
    sessionsPerTunnel: SESSIONS,
  })
  sim.start()
  await sim.done
  expect(sim.progress.sessionsUp).toBe(TUNNELS * SESSIONS)
  await until(
    'the node to hold every session',
    async () => (await nodeStatus())?.endpoints[0]?.sessions === TUNNELS * SESSIONS,
    60_000,
  )
}, 180_000)

afterAll(async () => {
  await lac?.stop()
  await auditor?.close()
  node?.kill('SIGKILL')
})

/** The LAC's sessions as the LNS names them: its tunnel id / its session id. */
const lacSessions = () =>
  [...lac.engine.tunnels.values()].flatMap((t) =>
    [...t.sessions.values()].map((s) => `${t.peerAssignedId}/${s.peerId}`),
  )

describe('an LNS holding 20,000 sessions, listed by the auditor (issue 9 regression)', () => {
  it('sessions come paged, every one exactly once, and the node stays up holding them', async () => {
    const started = Date.now()
    const body = { type: 'ListSessions', v: 1, endpointId: EP, localTunnelId: null }
    const got = await allItems(auditor, endpointSubjects(unsafe.endpointId(EP)).sessions, body, SessionItem)
    const ms = Date.now() - started
    const keys = got.items.map((s) => `${s.localTunnelId}/${s.localSessionId}`)
    expect(keys).toHaveLength(TUNNELS * SESSIONS)
    expect(new Set(keys).size).toBe(TUNNELS * SESSIONS)
    expect([...keys].sort()).toEqual(lacSessions().sort())
    expect(Math.max(...got.sizes)).toBeLessThanOrEqual(500)
    // The largest page a caller may ask for is cut by bytes, far below the max payload.
    const big = await allItems(
      auditor,
      endpointSubjects(unsafe.endpointId(EP)).sessions,
      { ...body, limit: 5000 },
      SessionItem,
    )
    expect(big.items).toHaveLength(TUNNELS * SESSIONS)
    const tunnels = await allItems(
      auditor,
      endpointSubjects(unsafe.endpointId(EP)).tunnels,
      { type: 'ListTunnels', v: 1, endpointId: EP },
      TunnelItem,
    )
    expect(tunnels.items.map((t) => t.sessions)).toEqual(Array(TUNNELS).fill(SESSIONS))
    console.log(
      `[measure] auditor sessions listing of ${keys.length} sessions: ${got.sizes.length} pages, ${ms} ms; ` +
        `at limit 5000: ${big.sizes.length} pages (largest ${Math.max(...big.sizes)} items)`,
    )
    // Still up, still holding every session, on both sides.
    expect(exited).toBe('running')
    expect((await nodeStatus())?.endpoints[0]).toMatchObject({
      sessions: TUNNELS * SESSIONS,
      tunnels: TUNNELS,
    })
    expect(lacDown.sessions).toBe(0)
    expect(lacSessions()).toHaveLength(TUNNELS * SESSIONS)
  }, 120_000)
})

describe('l2tpctl through shell pipes', () => {
  const ctl = `${process.execPath} --import tsx registry/cli/l2tpctl.ts`
  const bash = async (script: string) => {
    const env = { ...process.env, ...(await cliProcessEnv('auditor')) }
    return sh('bash', ['-c', `set -o pipefail; ${script}`], { env, maxBuffer: 64 * 1024 * 1024 })
  }

  it('`sessions | cat` is byte for byte the redirect; `--json | node` parses; `--ndjson | wc -l` counts every session', async () => {
    const piped = join(dir, 'piped.txt')
    const redirected = join(dir, 'redirected.txt')
    await bash(`${ctl} sessions --endpoint ${EP} | cat > ${piped}`)
    await bash(`${ctl} sessions --endpoint ${EP} > ${redirected}`)
    const text = readFileSync(piped, 'utf8')
    expect(text).toBe(readFileSync(redirected, 'utf8'))
    expect(text.length).toBeGreaterThan(65_536)
    expect(text.split('\n')).toHaveLength(1 + TUNNELS * SESSIONS + 1)
    const parse = `let s='';process.stdin.on('data',(d)=>{s+=d}).on('end',()=>{const a=JSON.parse(s);process.stdout.write(String(a.length))})`
    const json = await bash(`${ctl} sessions --endpoint ${EP} --json | node -e "${parse}"`)
    expect(json.stdout).toBe(String(TUNNELS * SESSIONS))
    const nd = await bash(`${ctl} sessions --endpoint ${EP} --ndjson --limit 1234 | wc -l`)
    expect(nd.stdout.trim()).toBe('1234')
  }, 120_000)

  it('`| head -c 100` ends quietly: exit 0, no stack trace', async () => {
    const r = await bash(
      `${ctl} sessions --endpoint ${EP} 2>${join(dir, 'err.txt')} | head -c 100; echo " rc=\${PIPESTATUS[0]}"`,
    )
    expect(r.stdout.startsWith('TUNNEL  SESSION')).toBe(true)
    expect(r.stdout.endsWith(' rc=0\n')).toBe(true)
    expect(readFileSync(join(dir, 'err.txt'), 'utf8')).toBe('')
    // A failure is one line on stderr and exit 1: here a subject nobody serves.
    const bad = await bash(`${ctl} sessions --endpoint nobody-${RUN} 2>&1; echo "rc=$?"`).catch(
      (e: { stdout: string }) => e,
    )
    expect(bad.stdout).toMatch(/^l2tpctl: no service answers l2tp\.ep\.nobody-\w+\.sessions\nrc=1\n$/)
    expect(exited).toBe('running')
  }, 60_000)
})
