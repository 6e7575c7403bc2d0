// The issuer of a command end to end (issue 9): a real l2tp-node process (--control --publish)
// serving an LNS under its own node identity, our LAC on loopback, the registry, and l2tpctl run
// as operator dave: close-session reaches the LAC as a CDN, the registry records it, and the
// timeline shows CloseSession issued by dave, the authenticated user; drain refuses the LAC's
// next tunnel and undrain accepts it, sync and close-tunnel act, each audited as dave. l2tpctl run as dave cannot
// pass itself off as someone else: there is no --issuer, and its subject ends in its own name.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TopicNames, unsafe } from '../../contracts/index.js'
import { loadInfraConfig } from '../../infra/config.js'
import { grant } from '../../infra/identities.js'
import type { Effect } from '../../nodes/engine/types.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { type NatsConnection, RegistryService, readEndpointHistory } from '../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../support/brokers.js'
import { sleep, waitFor } from '../support/churn.js'
import { natsAsRegistry, nodeProcessEnv } from '../support/identity.js'
import { engineConfig } from '../support/sim.js'

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`
const EP = `lns-issuer-${RUN}`
const NODE = `issuer-node-${RUN}`
let names: TopicNames
let node: ChildProcess | null = null
let lac: UdpEndpoint
let registry: RegistryService
let nc: NatsConnection
let dave: Record<string, string>
const effects: Effect[] = []

const prefixEnv = () => ({ L2TP_TOPIC_PREFIX: names.events.replace('l2tp.events', '') })

/** Runs l2tpctl as dave (asynchronously: the registry answering it lives in this process). */
const l2tpctl = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'registry/cli/l2tpctl.ts', ...args], {
      env: { ...process.env, ...prefixEnv(), ...dave },
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (b: Buffer) => {
      stdout += b.toString()
    })
    p.stderr.on('data', (b: Buffer) => {
      stderr += b.toString()
    })
    p.on('close', (status) => resolve({ status, stdout, stderr }))
  })

beforeAll(async () => {
  names = await freshTopics()
  const dir = mkdtempSync(join(tmpdir(), 'issuer-'))
  const file = join(dir, 'lns.json')
  writeFileSync(
    file,
    JSON.stringify({
      nodeId: NODE,
      endpoints: [{ id: EP, role: 'LNS', address: { host: '127.0.0.111', port: 1701 }, hideAvps: false }],
    }),
  )
  node = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'nodes/cli/l2tp-node.ts',
      '--config',
      file,
      '--publish',
      '--control',
      '--log-level',
      'warn',
    ],
    {
      env: { ...process.env, ...(await nodeProcessEnv(NODE, [EP])), ...prefixEnv() },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  const id = await grant(loadInfraConfig(), { kind: 'operator', name: 'dave' })
  dave = { NATS_USER: id.name, NATS_PASS: id.password }
  registry = new RegistryService(eventLogDeps(names, 'issuer-registry'), {
    groupId: `registry-${RUN}`,
    snapshotEveryEvents: 500,
    snapshotEveryMs: 1000,
  })
  await registry.start()
  nc = await natsAsRegistry()
  await registry.serveQueries(nc)
  lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: 'lac-issuer' }),
    { host: '127.0.0.112', port: unsafe.port(1701) },
    { endpointId: unsafe.endpointId(`lac-issuer-${RUN}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    { onEffect: (f) => effects.push(f) },
  )
  await lac.start()
  // The node needs a moment to bind; the LAC retransmits its SCCRQ until it answers.
  lac.input({ _tag: 'OpenTunnel', peer: { host: '127.0.0.111', port: unsafe.port(1701) } })
  await waitFor('the tunnel', () => effects.some((f) => f._tag === 'TunnelUp'), 60_000)
  const [t] = [...lac.engine.tunnels.values()]
  if (t === undefined) throw new Error('no tunnel')
  for (let i = 0; i < 2; i++) lac.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
  await waitFor('two sessions', () => effects.filter((f) => f._tag === 'SessionUp').length === 2, 30_000)
}, 120_000)

afterAll(async () => {
  node?.kill('SIGTERM')
  await lac?.stop()
  await registry?.stop()
  await nc?.close()
})

describe('the authenticated issuer, end to end', () => {
  it('close-session by dave: the LAC sees the CDN, the registry records it, the timeline says dave', async () => {
    const [t] = [...lac.engine.tunnels.values()]
    const [s] = [...(t?.sessions.values() ?? [])]
    if (t === undefined || s === undefined) throw new Error('no session')
    const tid = t.peerAssignedId // the LNS's ids, as the operator sees them
    const sid = s.peerId
    const r = await l2tpctl([
      'close-session',
      '--endpoint',
      EP,
      '--session',
      `${tid}/${sid}`,
      '--reason',
      'moved',
      '--json',
    ])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    await waitFor('the CDN at the LAC', () =>
      effects.some((f) => f._tag === 'SessionDown' && f.reason === 'moved'),
    )
    // In the log the registry folds: the command, by the authenticated user, and its effect.
    const logged = async () => {
      const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'issuer-read'), EP)())
      return h.events.map((e) => e.event)
    }
    let events = await logged()
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'CommandApplied'); i++) {
      await sleep(200) // the node's outbox flushes
      events = await logged()
    }
    expect(events.filter((e) => e.type === 'CommandApplied')).toMatchObject([
      { command: 'CloseSession', issuer: 'dave', result: 'applied', localTunnelId: tid, localSessionId: sid },
    ])
    expect(events.find((e) => e.type === 'SessionClosed')).toMatchObject({
      localSessionId: sid,
      closedBy: 'operator',
    })
    // The registry folded it, and its timeline shows who did it.
    let tl = await l2tpctl(['timeline', '--session', `${EP}/${tid}/${sid}`])
    for (let i = 0; i < 5 && !/SessionClosed/.test(tl.stdout); i++) {
      await sleep(200)
      tl = await l2tpctl(['timeline', '--session', `${EP}/${tid}/${sid}`])
    }
    expect(tl.status).toBe(0)
    expect(tl.stdout).toMatch(/CommandApplied CloseSession by dave: applied/)
    expect(tl.stdout).toMatch(/SessionClosed/)
  })

  it('drain, undrain, sync and close-tunnel by dave: their effect on the LAC, all audited as dave', async () => {
    const lns = { host: '127.0.0.111', port: unsafe.port(1701) }
    const ups = () => effects.filter((f) => f._tag === 'TunnelUp').length
    const downs = () => effects.filter((f) => f._tag === 'TunnelDown').length
    // drain: a new tunnel is refused (StopCCN), the established one stays.
    expect((await l2tpctl(['drain', '--endpoint', EP])).status).toBe(0)
    const [before, downBefore] = [ups(), downs()]
    lac.input({ _tag: 'OpenTunnel', peer: lns })
    await waitFor('the drained endpoint to refuse the tunnel', () => downs() > downBefore, 30_000)
    expect(ups()).toBe(before)
    // undrain: accepted again.
    const und = await l2tpctl(['undrain', '--endpoint', EP, '--json'])
    expect(und.status).toBe(0)
    expect(JSON.parse(und.stdout)).toMatchObject({ undrained: EP, refusing: 'none' })
    lac.input({ _tag: 'OpenTunnel', peer: lns })
    await waitFor('a tunnel accepted after undrain', () => ups() > before, 30_000)
    // sync toward a peer without RFC 4951: skipped, said so, nothing sent that could clear it.
    const sync = await l2tpctl(['sync', '--endpoint', EP, '--json'])
    expect(sync.status).toBe(0)
    expect(JSON.parse(sync.stdout)).toMatchObject({ queriedTunnels: 0 })
    // close-tunnel: the LAC sees the StopCCN and its tunnel go down.
    const [t] = [...lac.engine.tunnels.values()].filter((x) => x.state === 'established')
    if (t === undefined) throw new Error('no tunnel')
    const downNow = downs()
    const ct = await l2tpctl(['close-tunnel', '--endpoint', EP, '--tunnel', String(t.peerAssignedId)])
    expect(ct.stderr).toBe('')
    expect(ct.status).toBe(0)
    await waitFor('the StopCCN at the LAC', () => downs() > downNow, 30_000)
    // Every command in the endpoint's log, issued by the authenticated user.
    const wanted = ['DrainEndpoint', 'UndrainEndpoint', 'SyncSessions', 'CloseTunnel']
    let audit: Array<[string, string, string]> = []
    for (let i = 0; i < 100; i++) {
      const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'issuer-read'), EP)())
      audit = h.events.flatMap((e) =>
        e.event.type === 'CommandApplied'
          ? [[e.event.command, e.event.issuer, e.event.result] as [string, string, string]]
          : [],
      )
      if (wanted.every((w) => audit.some((a) => a[0] === w))) break
      await sleep(200)
    }
    for (const w of wanted) expect(audit).toContainEqual([w, 'dave', 'applied'])
    let tl = await l2tpctl(['timeline', '--tunnel', `${EP}/${t.peerAssignedId}`])
    for (let i = 0; i < 10 && !/CloseTunnel by dave/.test(tl.stdout); i++) {
      await sleep(300)
      tl = await l2tpctl(['timeline', '--tunnel', `${EP}/${t.peerAssignedId}`])
    }
    expect(tl.stdout).toMatch(/CommandApplied CloseTunnel by dave: applied/)
    expect(tl.stdout).toMatch(/TunnelClosed/)
  }, 120_000)

  it('an l2tpctl that asks for another issuer is refused as bad usage', async () => {
    const r = await l2tpctl(['drain', '--endpoint', EP, '--issuer', 'bob'])
    expect(r.status).toBe(2)
  })
})
