// Real nats-server (from infra/, the project's config): services answer, the server refuses a
// user without permission with a clear error, and KV compare-and-set conflicts are typed.
import { randomUUID } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { Service } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type EndpointSummary,
  ErrorReply,
  endpointSubjects,
  errorReply,
  GetEndpoint,
  ListEndpoints,
  okReply,
  registrySubjects,
  SERVICE_REGISTRY,
  unsafe,
} from '../../../contracts/index.js'
import { endpoint, type NatsConnection, openKv, request, serve } from '../../../registry/shell/index.js'
import { rightOrThrow } from '../../support/brokers.js'
import { natsAsAuditor, natsAsNode, natsAsOperator, natsAsRegistry } from '../../support/identity.js'

const summary: EndpointSummary = {
  endpointId: unsafe.endpointId('lns-a'),
  epoch: unsafe.epoch(3),
  owner: unsafe.nodeId('node-1'),
  active: true,
  role: 'LNS',
  address: { host: '127.0.0.2', port: unsafe.port(1701) },
  tunnels: 2,
  sessions: 5,
  consistent: true,
}

let registry: NatsConnection
let operator: NatsConnection
let auditor: NatsConnection
let srv: Service
beforeAll(async () => {
  ;[registry, operator, auditor] = await Promise.all([natsAsRegistry(), natsAsOperator(), natsAsAuditor()])
  srv = await serve(registry, { name: SERVICE_REGISTRY, version: '0.1.0', description: 'test registry' }, [
    endpoint({
      name: 'endpoints',
      subject: registrySubjects.endpoints,
      request: ListEndpoints,
      handle: async () => okReply([summary]),
    }),
    endpoint({
      name: 'endpoint',
      subject: registrySubjects.endpoint,
      request: GetEndpoint,
      handle: async (r) =>
        r.endpointId === 'lns-a' ? okReply(summary) : errorReply('NotFound', `no endpoint ${r.endpointId}`),
    }),
  ])
})
afterAll(async () => {
  await srv?.stop()
  await Promise.all([registry, operator, auditor].map((c) => c?.close()))
})

describe('NATS request/reply services', () => {
  it('a service answers requests from an operator and from a read-only auditor', async () => {
    for (const nc of [operator, auditor]) {
      const r = rightOrThrow(await request(nc, registrySubjects.endpoints, { type: 'ListEndpoints', v: 1 })())
      expect(r).toEqual({ ok: true, result: [summary] })
    }
    const missing = rightOrThrow(
      await request(operator, registrySubjects.endpoint, {
        type: 'GetEndpoint',
        v: 1,
        endpointId: 'lns-z',
      })(),
    )
    expect(missing).toEqual({ ok: false, code: 'NotFound', message: 'no endpoint lns-z' })
  })

  it('a malformed request gets a BadRequest reply with the path of the fault, not a timeout', async () => {
    const r = rightOrThrow(
      await request(operator, registrySubjects.endpoint, { type: 'GetEndpoint', v: 1, endpointId: 'a.b' })(),
    )
    expect(ErrorReply.is(r)).toBe(true)
    expect(r).toMatchObject({ ok: false, code: 'BadRequest' })
    expect((r as ErrorReply).message).toContain('at .endpointId: expected EndpointId, got "a.b"')
    const notJson = await operator.request(registrySubjects.endpoints, new TextEncoder().encode('{nope'), {
      timeout: 2000,
    })
    expect(notJson.headers?.get('Nats-Service-Error-Code')).toBe('400')
  })

  it('is discoverable like `nats micro ls`: $SRV.PING names the service', async () => {
    const reply = await operator.request(`$SRV.PING.${SERVICE_REGISTRY}`, new Uint8Array(), { timeout: 2000 })
    expect(JSON.parse(Buffer.from(reply.data).toString())).toMatchObject({
      name: SERVICE_REGISTRY,
      version: '0.1.0',
    })
  })

  it('the server refuses a command from the read-only auditor, and the caller gets a clear error, not a timeout', async () => {
    const started = Date.now()
    const r = await request(
      auditor,
      endpointSubjects(unsafe.endpointId('lns-a')).closeTunnel,
      { type: 'CloseTunnel', v: 1 },
      20_000,
    )()
    expect(E.isLeft(r) && r.left._tag).toBe('PermissionDenied')
    if (E.isLeft(r) && r.left._tag === 'PermissionDenied')
      expect(r.left.detail).toMatch(/permissions violation/i)
    // Refused by the server straight away, far inside the 20 s timeout (not asserted on timing
    // to the millisecond: only that it did not wait for the timeout).
    expect(Date.now() - started).toBeLessThan(20_000)
  })

  it('a subject nobody serves fails fast as NoResponders', async () => {
    const r = await request(operator, `l2tp.ep.nobody-${randomUUID().slice(0, 6)}.tunnels`, {
      type: 'ListTunnels',
      v: 1,
    })()
    expect(E.isLeft(r) && r.left._tag).toBe('NoResponders')
  })
})

describe('a handler cannot take the service down (issue 9)', () => {
  const base = `l2tp.registry.guard-${randomUUID().slice(0, 8)}`
  const cyclic = () => {
    const o: Record<string, unknown> = { name: 'loop' }
    o.self = o
    return o
  }
  const cases: ReadonlyArray<readonly [string, () => Promise<ReturnType<typeof okReply>>]> = [
    [
      'throws',
      () => {
        throw new Error('bug in a handler')
      },
    ],
    ['rejects', async () => Promise.reject(new Error('async bug'))],
    ['cyclic', async () => okReply(cyclic())],
    ['bigint', async () => okReply({ n: 10n })],
    ['huge', async () => okReply('x'.repeat(10 * 1024 * 1024))],
    ['fine', async () => okReply({ still: 'answering' })],
  ]
  let guarded: Service
  beforeAll(async () => {
    guarded = await serve(
      registry,
      { name: 'l2tp-guard-test', version: '0.1.0', description: 'handlers that fail' },
      cases.map(([name, handle]) =>
        endpoint({ name, subject: `${base}.${name}`, request: t.unknown, handle }),
      ),
    )
  })
  afterAll(async () => {
    await guarded?.stop()
  })

  it('a throw, a rejection, an unencodable and a 10 MB reply each become an error reply; the service keeps answering', async () => {
    const ask = async (name: string) => rightOrThrow(await request(operator, `${base}.${name}`, {}, 10_000)())
    expect(await ask('throws')).toEqual({ ok: false, code: 'Internal', message: 'bug in a handler' })
    expect(await ask('rejects')).toEqual({ ok: false, code: 'Internal', message: 'async bug' })
    for (const name of ['cyclic', 'bigint']) {
      const r = await ask(name)
      expect(r).toMatchObject({ ok: false, code: 'Internal' })
      expect((r as ErrorReply).message).toMatch(/could not be encoded/)
    }
    const huge = await ask('huge')
    expect(huge).toMatchObject({ ok: false, code: 'TooLarge' })
    expect((huge as ErrorReply).message).toMatch(/exceeds the \d+ bytes/)
    // The error headers of the services API come with it.
    const raw = await operator.request(`${base}.huge`, new TextEncoder().encode('{}'), { timeout: 10_000 })
    expect(raw.headers?.get('Nats-Service-Error-Code')).toBe('413')
    // After all of that, the same service (and connection) answers.
    expect(await ask('fine')).toEqual({ ok: true, result: { still: 'answering' } })
    expect(registry.isClosed()).toBe(false)
    expect(
      rightOrThrow(await request(auditor, registrySubjects.endpoints, { type: 'ListEndpoints', v: 1 })()),
    ).toMatchObject({ ok: true })
  })
})

describe('JetStream KV compare-and-set', () => {
  it('create, update with the right revision, and a typed Conflict on a stale revision', async () => {
    const key = `ep-${randomUUID().slice(0, 8)}`
    const node = await natsAsNode(`kv-${key}`, [key])
    try {
      const kv = rightOrThrow(await openKv(node, 'l2tp_endpoints')())
      const enc = (s: string) => new TextEncoder().encode(s)
      const first = rightOrThrow(await kv.compareAndSet(key, enc('node-1/1'), 0)())
      expect(first._tag).toBe('Written')
      // A second create of the same key loses.
      expect(rightOrThrow(await kv.compareAndSet(key, enc('node-2/1'), 0)())._tag).toBe('Conflict')
      if (first._tag !== 'Written') return
      const second = rightOrThrow(await kv.compareAndSet(key, enc('node-1/2'), first.revision)())
      expect(second._tag).toBe('Written')
      // Someone holding the old revision loses, with a reason.
      const stale = rightOrThrow(await kv.compareAndSet(key, enc('node-3/2'), first.revision)())
      expect(stale).toMatchObject({ _tag: 'Conflict' })
      const now = rightOrThrow(await kv.get(key)())
      expect(Buffer.from(now?.value ?? []).toString()).toBe('node-1/2')
    } finally {
      await node.close()
    }
  })
})
