// Operator commands of a node over the real nats-server from infra/ (DESIGN.md §6): an LNS with
// our LAC simulator on loopback; the operator lists, closes, synchronises and drains; the auditor
// may look but not touch; every state change is a CommandApplied event.
import type { Service } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  endpointSubjects,
  issuedSubject,
  type L2tpEvent,
  nodeSubjects,
  unsafe,
} from '../../../contracts/index.js'
import type { Effect } from '../../../nodes/engine/types.js'
import { endpointCommands, nodeCommands } from '../../../nodes/shell/commands.js'
import { Simulation } from '../../../nodes/shell/simulator.js'
import { UdpEndpoint } from '../../../nodes/shell/udp-endpoint.js'
import { type NatsConnection, request, serve } from '../../../registry/shell/index.js'
import { rightOrThrow } from '../../support/brokers.js'
import { waitFor } from '../../support/churn.js'
import { natsAsAuditor, natsAsNode, natsAsOperator } from '../../support/identity.js'
import { engineConfig } from '../../support/sim.js'

const ENDPOINT = unsafe.endpointId(`cmd-${process.pid}`)
const NODE = unsafe.nodeId(`cmd-node-${process.pid}`)
const subjects = endpointSubjects(ENDPOINT)
const FO = { control: true, data: true, recoveryTimeMs: 30_000 }

let node: NatsConnection
let operator: NatsConnection
let bob: NatsConnection
let auditor: NatsConnection
let lns: UdpEndpoint
let lac: UdpEndpoint
let sim: Simulation
const services: Service[] = []
const events: L2tpEvent[] = []
const lacEffects: Effect[] = []

const ask = async (who: NatsConnection, subject: string, body: unknown) =>
  rightOrThrow(await request(who, subject, body, 5000)()) as {
    ok: boolean
    result?: unknown
    code?: string
    message?: string
  }

beforeAll(async () => {
  const port = unsafe.port(1701)
  lns = new UdpEndpoint(
    engineConfig({ role: 'LNS', hostName: 'lns-cmd', failover: FO }),
    { host: '127.0.0.61', port },
    { endpointId: ENDPOINT, nodeId: NODE, epoch: 1 },
    { onEvent: (e) => events.push(e) },
  )
  await lns.start()
  lac = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: 'lac-cmd', failover: FO }),
    { host: '127.0.0.62', port },
    { endpointId: unsafe.endpointId(`cmd-lac-${process.pid}`), nodeId: unsafe.nodeId('sim'), epoch: 1 },
    {
      onEffect: (f) => {
        lacEffects.push(f)
        sim?.onEffect(f)
      },
    },
  )
  await lac.start()
  sim = new Simulation(lac, { peer: lns.bind, tunnels: 3, sessionsPerTunnel: 4 })
  sim.start()
  await sim.done
  ;[node, operator, bob, auditor] = await Promise.all([
    natsAsNode(NODE, [ENDPOINT]),
    natsAsOperator('alice'),
    natsAsOperator('bob'),
    natsAsAuditor(),
  ])
  const spec = { name: 'l2tp-node', version: '0.1.0', description: 'test node' }
  services.push(
    await serve(
      node,
      spec,
      nodeCommands({ nodeId: NODE, startedAt: Date.now(), serving: () => [lns], standbyFor: () => [] }),
    ),
    await serve(node, spec, endpointCommands(lns)),
  )
})

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => undefined)
  await Promise.all([node?.close(), operator?.close(), bob?.close(), auditor?.close()])
  await lac?.stop()
  await lns?.stop()
})

describe('node commands over NATS', () => {
  it('status, tunnels and sessions answer from the serving node (auditor may read)', async () => {
    const status = await ask(auditor, nodeSubjects(NODE).status, { type: 'GetNodeStatus', v: 1 })
    expect(status.ok).toBe(true)
    expect(status.result).toMatchObject({
      nodeId: NODE,
      endpoints: [{ endpointId: ENDPOINT, role: 'LNS', tunnels: 3, sessions: 12 }],
      standbyFor: [],
    })
    const tunnels = await ask(auditor, subjects.tunnels, { type: 'ListTunnels', v: 1, endpointId: ENDPOINT })
    expect(tunnels.result).toMatchObject({ next: null })
    expect((tunnels.result as { items: Array<{ sessions: number }> }).items.map((t) => t.sessions)).toEqual([
      4, 4, 4,
    ])
    const sessions = await ask(operator, subjects.sessions, {
      type: 'ListSessions',
      v: 1,
      endpointId: ENDPOINT,
      localTunnelId: null,
    })
    expect((sessions.result as { items: unknown[] }).items).toHaveLength(12)
  })

  it('sessions and tunnels are paged: every item once across pages, filters by tunnel, peer, host name and state', async () => {
    const pages = async (body: Record<string, unknown>, subject = subjects.sessions) => {
      const seen: Array<{ localTunnelId: number; localSessionId?: number }> = []
      let cursor: string | null = null
      let n = 0
      do {
        const r = await ask(auditor, subject, { ...body, ...(cursor === null ? {} : { cursor }) })
        expect(r.ok).toBe(true)
        const page = r.result as { items: typeof seen; next: string | null }
        expect(page.items.length).toBeLessThanOrEqual(Number(body.limit ?? 500))
        seen.push(...page.items)
        cursor = page.next
        n++
      } while (cursor !== null)
      return { seen, pages: n }
    }
    const all = { type: 'ListSessions', v: 1, endpointId: ENDPOINT, localTunnelId: null }
    const paged = await pages({ ...all, limit: 5 })
    expect(paged.pages).toBe(3)
    const keys = paged.seen.map((x) => `${x.localTunnelId}/${x.localSessionId}`)
    expect(new Set(keys).size).toBe(12)
    const table = [...lns.table.tunnels.values()].flatMap((t) =>
      [...t.sessions.keys()].map((sid) => `${t.localTunnelId}/${sid}`),
    )
    expect([...keys].sort()).toEqual([...table].sort())
    const [t1] = [...lns.table.tunnels.values()]
    if (t1 === undefined) throw new Error('no tunnel')
    const one = await pages({ ...all, limit: 3, filter: { localTunnelId: t1.localTunnelId } })
    expect(one.seen.map((x) => x.localTunnelId)).toEqual([
      t1.localTunnelId,
      t1.localTunnelId,
      t1.localTunnelId,
      t1.localTunnelId,
    ])
    const byPeer = await pages({
      ...all,
      filter: { peer: `${lac.bind.host}:${lac.bind.port}`, peerHostName: 'lac-cmd', state: 'established' },
    })
    expect(byPeer.seen).toHaveLength(12)
    expect((await pages({ ...all, filter: { peer: '127.0.0.99' } })).seen).toHaveLength(0)
    expect((await pages({ ...all, filter: { state: 'recovering' } })).seen).toHaveLength(0)
    const tunnels = await pages(
      { type: 'ListTunnels', v: 1, endpointId: ENDPOINT, limit: 2 },
      subjects.tunnels,
    )
    expect(tunnels.pages).toBe(2)
    expect(tunnels.seen.map((t) => t.localTunnelId)).toEqual(
      [...lns.table.tunnels.keys()].sort((a, b) => a - b),
    )
    const bad = await ask(auditor, subjects.sessions, { ...all, cursor: 'nonsense' })
    expect(bad).toMatchObject({ ok: false, code: 'BadRequest' })
    const tooMany = await ask(auditor, subjects.sessions, { ...all, limit: 1_000_000 })
    expect(tooMany).toMatchObject({ ok: false, code: 'BadRequest' })
  })

  it('a malformed command gets a BadRequest naming the fault; a wrong endpoint is refused', async () => {
    const bad = await ask(operator, issuedSubject(subjects.closeTunnel, 'alice'), {
      type: 'CloseTunnel',
      v: 1,
      endpointId: ENDPOINT,
    })
    expect(bad).toMatchObject({ ok: false, code: 'BadRequest' })
    expect(bad.message).toMatch(/localTunnelId/)
    const wrong = await ask(operator, issuedSubject(subjects.drain, 'alice'), {
      type: 'DrainEndpoint',
      v: 1,
      endpointId: 'elsewhere',
    })
    expect(wrong).toMatchObject({ ok: false, code: 'BadRequest' })
    expect(lns.engine.refuseNew).toBe(false)
  })

  it('the auditor may not send a command that changes state', async () => {
    const r = await request(
      auditor,
      issuedSubject(subjects.drain, 'auditor'),
      { type: 'DrainEndpoint', v: 1, endpointId: ENDPOINT },
      3000,
    )()
    expect(r._tag).toBe('Left')
    expect(lns.engine.refuseNew).toBe(false)
  })

  it('close-session sends a CDN and is audited; an unknown session is refused and audited too', async () => {
    const [t] = [...lns.table.tunnels.values()]
    const [s] = [...(t?.sessions.values() ?? [])]
    if (t === undefined || s === undefined) throw new Error('no session')
    const r = await ask(operator, issuedSubject(subjects.closeSession, 'alice'), {
      type: 'CloseSession',
      v: 1,
      endpointId: ENDPOINT,
      localTunnelId: t.localTunnelId,
      localSessionId: s.localSessionId,
      reason: 'subscriber moved',
    })
    expect(r.ok).toBe(true)
    await waitFor('the LAC to see the CDN', () =>
      lacEffects.some((f) => f._tag === 'SessionDown' && f.reason === 'subscriber moved'),
    )
    expect(events.find((e) => e.type === 'SessionClosed')).toMatchObject({
      localSessionId: s.localSessionId,
      resultCode: 3,
      closedBy: 'operator',
    })
    const missing = await ask(operator, issuedSubject(subjects.closeSession, 'alice'), {
      type: 'CloseSession',
      v: 1,
      endpointId: ENDPOINT,
      localTunnelId: t.localTunnelId,
      localSessionId: s.localSessionId,
      reason: null,
    })
    expect(missing).toMatchObject({ ok: false, code: 'NotFound' })
    const audit = events.filter((e) => e.type === 'CommandApplied')
    expect(audit.map((e) => e.type === 'CommandApplied' && [e.command, e.issuer, e.result])).toEqual([
      ['CloseSession', 'alice', 'applied'],
      ['CloseSession', 'alice', 'rejected'],
    ])
  })

  it('sync runs FSQ/FSR on demand; sessions both sides know stay', async () => {
    const before = lns.engine.stats.datagrams
    const r = await ask(operator, issuedSubject(subjects.sync, 'alice'), {
      type: 'SyncSessions',
      v: 1,
      endpointId: ENDPOINT,
      localTunnelId: null,
    })
    expect(r).toMatchObject({ ok: true, result: { queriedTunnels: 3, skippedLegacyPeers: 0 } })
    await waitFor(
      'three SessionsReconciled',
      () => events.filter((e) => e.type === 'SessionsReconciled').length === 3,
    )
    expect(lns.engine.stats.datagrams).toBeGreaterThan(before)
    const reconciled = events.filter((e) => e.type === 'SessionsReconciled')
    expect(reconciled.every((e) => e.type === 'SessionsReconciled' && e.clearedSessionIds.length === 0)).toBe(
      true,
    )
  })

  it('close-tunnel sends StopCCN; drain refuses new tunnels; both audited', async () => {
    const [t] = [...lns.table.tunnels.values()]
    if (t === undefined) throw new Error('no tunnel')
    const r = await ask(bob, issuedSubject(subjects.closeTunnel, 'bob'), {
      type: 'CloseTunnel',
      v: 1,
      endpointId: ENDPOINT,
      localTunnelId: t.localTunnelId,
      reason: null,
    })
    expect(r.ok).toBe(true)
    await waitFor('the tunnel to close', () => events.some((e) => e.type === 'TunnelClosed'))
    expect(events.find((e) => e.type === 'TunnelClosed')).toMatchObject({
      closedBy: 'operator',
      resultCode: 1,
    })
    const d = await ask(bob, issuedSubject(subjects.drain, 'bob'), {
      type: 'DrainEndpoint',
      v: 1,
      endpointId: ENDPOINT,
    })
    expect(d.ok).toBe(true)
    expect(lns.engine.refuseNew).toBe(true)
    const downBefore = lacEffects.filter((f) => f._tag === 'TunnelDown').length
    lac.input({ _tag: 'OpenTunnel', peer: lns.bind })
    await waitFor(
      'the new tunnel to be refused',
      () => lacEffects.filter((f) => f._tag === 'TunnelDown').length > downBefore,
    )
    const audit = events.flatMap((e) =>
      e.type === 'CommandApplied' ? [[e.command, e.issuer, e.result]] : [],
    )
    expect(audit.slice(-2)).toEqual([
      ['CloseTunnel', 'bob', 'applied'],
      ['DrainEndpoint', 'bob', 'applied'],
    ])
  })

  it('undrain lifts the operator drain only, not outbox pressure; status shows the drain state', async () => {
    const undrain = { type: 'UndrainEndpoint', v: 1, endpointId: ENDPOINT }
    const drained = await ask(auditor, nodeSubjects(NODE).status, { type: 'GetNodeStatus', v: 1 })
    expect(drained.result).toMatchObject({ endpoints: [{ draining: true, refusing: ['drain'] }] })
    // The outbox crosses its high-water mark while drained; draining back must not undrain.
    lns.refusal.set('outbox', true)
    lns.refusal.set('outbox', false)
    expect(lns.engine.refuseNew).toBe(true)
    lns.refusal.set('outbox', true)
    const u = await ask(operator, issuedSubject(subjects.undrain, 'carol'), undrain)
    expect(u).toMatchObject({ ok: true, result: { refusing: 'outbox' } })
    expect(lns.engine.refuseNew).toBe(true) // outbox pressure still refuses
    lns.refusal.set('outbox', false)
    expect(lns.engine.refuseNew).toBe(false)
    const status = await ask(auditor, nodeSubjects(NODE).status, { type: 'GetNodeStatus', v: 1 })
    expect(status.result).toMatchObject({ endpoints: [{ draining: false, refusing: [] }] })
    const upBefore = lacEffects.filter((f) => f._tag === 'TunnelUp').length
    lac.input({ _tag: 'OpenTunnel', peer: lns.bind })
    await waitFor(
      'a new tunnel to be accepted again',
      () => lacEffects.filter((f) => f._tag === 'TunnelUp').length > upBefore,
    )
    const audit = events.flatMap((e) => (e.type === 'CommandApplied' ? [[e.command, e.issuer]] : []))
    expect(audit.at(-1)).toEqual(['UndrainEndpoint', 'carol'])
  })
})
