// Identities and access against the real nats-server with the config infra generates (issue 9):
// node-1 cannot subscribe to node-2's subjects nor write (or read) node-2's lease key; the auditor
// cannot send a state-changing command nor touch $JS.API (nor delete the lease bucket); an
// operator cannot send a command under another user's name; nobody reads another's inbox. After
// every refused attempt the lease value and the endpoint's state are what they were.
import * as E from 'fp-ts/lib/Either.js'
import type { NatsError, Service } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  endpointSubjects,
  issuedSubject,
  type L2tpEvent,
  LEASE_BUCKET,
  nodeSubjects,
  unsafe,
} from '../../contracts/index.js'
import { endpointCommands, nodeCommands } from '../../nodes/shell/commands.js'
import { encodeLease } from '../../nodes/shell/lease.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { type KvBucket, type NatsConnection, openKv, request, serve } from '../../registry/shell/index.js'
import { rightOrThrow } from '../support/brokers.js'
import { natsAsAuditor, natsAsNode, natsAsOperator, natsAsRegistry } from '../support/identity.js'
import { engineConfig } from '../support/sim.js'

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`
const N1 = unsafe.nodeId(`acc1-${RUN}`)
const N2 = unsafe.nodeId(`acc2-${RUN}`)
const E1 = unsafe.endpointId(`acc-ep1-${RUN}`)
const E2 = unsafe.endpointId(`acc-ep2-${RUN}`)
const s2 = endpointSubjects(E2)

let node1: NatsConnection
let node2: NatsConnection
let alice: NatsConnection
let auditor: NatsConnection
let registry: NatsConnection
let kv2: KvBucket
let lns2: UdpEndpoint
const services: Service[] = []
const events: L2tpEvent[] = []
let lease: { value: string; revision: number }

/** The endpoint's state and its lease as they are now: nothing of it may change when refused. */
const snapshot = async () => {
  const v = rightOrThrow(await kv2.get(E2)())
  return {
    lease: v === null ? null : { value: Buffer.from(v.value).toString(), revision: v.revision },
    refuseNew: lns2.engine.refuseNew,
    audited: events.filter((e) => e.type === 'CommandApplied').length,
  }
}
let before: Awaited<ReturnType<typeof snapshot>>

/** Subscribes and returns the server's refusal (null when the subscription was accepted). */
const trySubscribe = async (nc: NatsConnection, subject: string, queue?: string) => {
  let refused: NatsError | null = null
  const sub = nc.subscribe(subject, {
    ...(queue === undefined ? {} : { queue }),
    callback: (err) => {
      refused ??= err
    },
  })
  await nc.flush() // the server answers SUB before the PONG: a refusal has arrived by now
  sub.unsubscribe()
  return refused === null ? null : String(refused)
}

const expectDenied = async (nc: NatsConnection, subject: string, body: unknown = {}) => {
  const r = await request(nc, subject, body, 3000)()
  expect(E.isLeft(r) && r.left._tag).toBe('PermissionDenied')
}

beforeAll(async () => {
  ;[node1, node2, alice, auditor, registry] = await Promise.all([
    natsAsNode(N1, [E1]),
    natsAsNode(N2, [E2]),
    natsAsOperator('alice'),
    natsAsAuditor(),
    natsAsRegistry(),
  ])
  lns2 = new UdpEndpoint(
    engineConfig({ role: 'LNS', hostName: 'lns-acc' }),
    { host: '127.0.0.71', port: unsafe.port(1701) },
    { endpointId: E2, nodeId: N2, epoch: 1 },
    { onEvent: (e) => events.push(e) },
  )
  await lns2.start()
  const spec = { name: 'l2tp-node', version: '0.1.0', description: 'access test node-2' }
  services.push(
    await serve(node2, spec, endpointCommands(lns2)),
    await serve(
      node2,
      spec,
      nodeCommands({ nodeId: N2, startedAt: Date.now(), serving: () => [lns2], standbyFor: () => [] }),
    ),
  )
  kv2 = rightOrThrow(await openKv(node2, LEASE_BUCKET)())
  const value = encodeLease({ node: N2, epoch: 1, renewedAt: Date.now(), released: false })
  const w = rightOrThrow(await kv2.compareAndSet(E2, value, 0)())
  if (w._tag !== 'Written') throw new Error('could not take the lease of E2')
  lease = { value: Buffer.from(value).toString(), revision: w.revision }
  before = await snapshot()
  expect(before.lease).toEqual(lease)
})

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => undefined)
  await Promise.all([node1, node2, alice, auditor, registry].map((nc) => nc?.close()))
  await lns2?.stop()
})

describe('a node identity reaches only its own endpoints', () => {
  it("node-1 cannot subscribe to node-2's endpoint or node subjects, plain or as a queue", async () => {
    for (const subject of [
      `l2tp.ep.${E2}.>`,
      issuedSubject(s2.drain, '*'),
      s2.sessions,
      `l2tp.node.${N2}.>`,
      nodeSubjects(N2).status,
      'l2tp.ep.>',
      'l2tp.>',
    ])
      expect(await trySubscribe(node1, subject), subject).toMatch(/permissions violation/i)
    expect(await trySubscribe(node1, issuedSubject(s2.drain, '*'), 'q')).toMatch(/permissions violation/i)
    // Its own subjects it may serve.
    expect(await trySubscribe(node1, `l2tp.ep.${E1}.>`)).toBeNull()
    expect(await trySubscribe(node1, `l2tp.node.${N1}.>`)).toBeNull()
    expect(await snapshot()).toEqual(before)
  })

  it("node-1 cannot write, delete or read node-2's lease key; the value stays", async () => {
    const kv1 = rightOrThrow(await openKv(node1, LEASE_BUCKET)())
    const forged = encodeLease({ node: N1, epoch: 1e15, renewedAt: Date.now(), released: false })
    expect(E.isLeft(await kv1.compareAndSet(E2, forged, lease.revision)())).toBe(true)
    expect(E.isLeft(await kv1.compareAndSet(E2, new TextEncoder().encode('garbage'), 0)())).toBe(true)
    await expectDenied(node1, `$KV.${LEASE_BUCKET}.${E2}`)
    expect(E.isLeft(await kv1.get(E2)())).toBe(true)
    // Nor through the JetStream API: no purge, no delete of the message, no stream change.
    await expectDenied(node1, `$JS.API.STREAM.PURGE.KV_${LEASE_BUCKET}`, {
      filter: `$KV.${LEASE_BUCKET}.${E2}`,
    })
    await expectDenied(node1, `$JS.API.STREAM.MSG.DELETE.KV_${LEASE_BUCKET}`, { seq: lease.revision })
    await expectDenied(node1, `$JS.API.STREAM.DELETE.KV_${LEASE_BUCKET}`)
    // Its own key it may write and read.
    const own = rightOrThrow(
      await kv1.compareAndSet(
        E1,
        encodeLease({ node: N1, epoch: 1, renewedAt: Date.now(), released: false }),
        0,
      )(),
    )
    expect(own._tag).toBe('Written')
    expect(rightOrThrow(await kv1.get(E1)())).not.toBeNull()
    expect(await snapshot()).toEqual(before)
  })

  it("node-1 cannot command node-2's endpoint, not even its release under its own name", async () => {
    await expectDenied(node1, issuedSubject(s2.drain, `node-${N1}`), {
      type: 'DrainEndpoint',
      v: 1,
      endpointId: E2,
    })
    await expectDenied(node1, issuedSubject(s2.release, `node-${N1}`), {
      type: 'ReleaseEndpoint',
      v: 1,
      endpointId: E2,
    })
    await expectDenied(node1, issuedSubject(s2.release, `node-${N2}`), {
      type: 'ReleaseEndpoint',
      v: 1,
      endpointId: E2,
    })
    expect(await snapshot()).toEqual(before)
  })
})

describe('the auditor looks but does not touch', () => {
  it('may read status and listings', async () => {
    const r = rightOrThrow(await request(auditor, nodeSubjects(N2).status, { type: 'GetNodeStatus', v: 1 })())
    expect(r).toMatchObject({ ok: true, result: { nodeId: N2 } })
  })

  it('cannot send a state-changing command, under its own name or anyone else’s', async () => {
    const drain = { type: 'DrainEndpoint', v: 1, endpointId: E2 }
    for (const who of ['auditor', 'alice', 'operator', `node-${N2}`])
      await expectDenied(auditor, issuedSubject(s2.drain, who), drain)
    await expectDenied(auditor, issuedSubject(s2.closeTunnel, 'auditor'), {
      type: 'CloseTunnel',
      v: 1,
      endpointId: E2,
      localTunnelId: 1,
      reason: null,
    })
    await expectDenied(auditor, issuedSubject(nodeSubjects(N2).takeover, 'auditor'), {
      type: 'TakeOverEndpoint',
      v: 1,
      endpointId: E2,
    })
    expect(await snapshot()).toEqual(before)
  })

  it('has no $JS.API at all: no account info, no bucket delete or purge, no lease write', async () => {
    await expect(auditor.jetstreamManager()).rejects.toThrow(/permissions violation/i)
    await expectDenied(auditor, '$JS.API.INFO')
    await expectDenied(auditor, `$JS.API.STREAM.DELETE.KV_${LEASE_BUCKET}`)
    await expectDenied(auditor, `$JS.API.STREAM.PURGE.KV_${LEASE_BUCKET}`)
    await expectDenied(auditor, `$JS.API.DIRECT.GET.KV_${LEASE_BUCKET}.$KV.${LEASE_BUCKET}.${E2}`)
    await expectDenied(auditor, `$KV.${LEASE_BUCKET}.${E2}`)
    expect(await snapshot()).toEqual(before)
  })

  it('neither may the operator or the registry delete the lease bucket', async () => {
    for (const nc of [alice, registry]) {
      await expectDenied(nc, `$JS.API.STREAM.DELETE.KV_${LEASE_BUCKET}`)
      await expectDenied(nc, `$JS.API.STREAM.PURGE.KV_${LEASE_BUCKET}`)
      await expectDenied(nc, `$KV.${LEASE_BUCKET}.${E2}`)
    }
    await expectDenied(alice, '$JS.API.INFO')
    expect(await snapshot()).toEqual(before)
  })
})

describe('operators act under their own name only', () => {
  it('an operator cannot send a command under another user’s name', async () => {
    const drain = { type: 'DrainEndpoint', v: 1, endpointId: E2 }
    for (const who of ['bob', 'operator', 'auditor', `node-${N2}`])
      await expectDenied(alice, issuedSubject(s2.drain, who), drain)
    // Without any name the subject is served by nobody and not allowed either.
    await expectDenied(alice, s2.drain, drain)
    expect(await snapshot()).toEqual(before)
  })

  it('nobody subscribes to another identity’s inbox', async () => {
    expect(await trySubscribe(alice, '_INBOX.bob.>')).toMatch(/permissions violation/i)
    expect(await trySubscribe(alice, '_INBOX.>')).toMatch(/permissions violation/i)
    expect(await trySubscribe(auditor, '_INBOX.alice.>')).toMatch(/permissions violation/i)
    expect(await trySubscribe(node1, `_INBOX.node-${N2}.>`)).toMatch(/permissions violation/i)
    expect(await trySubscribe(alice, '_INBOX.alice.x')).toBeNull()
  })

  it('under her own name the command is applied and audited with her authenticated name', async () => {
    const r = rightOrThrow(
      await request(alice, issuedSubject(s2.drain, 'alice'), {
        type: 'DrainEndpoint',
        v: 1,
        endpointId: E2,
      })(),
    )
    expect(r).toMatchObject({ ok: true })
    expect(lns2.engine.refuseNew).toBe(true)
    const audit = events.flatMap((e) =>
      e.type === 'CommandApplied' ? [[e.command, e.issuer, e.result]] : [],
    )
    expect(audit).toEqual([['DrainEndpoint', 'alice', 'applied']])
  })
})

describe('the registry reads leases', () => {
  it('gets any lease and lists the keys, but cannot write one', async () => {
    const kv = rightOrThrow(await openKv(registry, LEASE_BUCKET)())
    const e = rightOrThrow(await kv.get(E2)())
    expect(e === null ? null : Buffer.from(e.value).toString()).toBe(lease.value)
    expect(rightOrThrow(await kv.keys()())).toEqual(expect.arrayContaining([E1, E2]))
    const w = await kv.compareAndSet(E2, new TextEncoder().encode('x'), lease.revision)()
    expect(E.isLeft(w) && w.left.detail).toMatch(/permissions violation/i)
    expect((await snapshot()).lease).toEqual(lease)
  })

  it('node-1 may not list the keys (its direct get names only its own)', async () => {
    const kv1 = rightOrThrow(await openKv(node1, LEASE_BUCKET)())
    expect(E.isLeft(await kv1.keys()())).toBe(true)
  })
})
