// Credentials and lab prefixes of the programs (issue 9): what natsFromEnv takes from the
// environment, that it never falls back to another identity, the warning for dev credentials
// toward a non-loopback NATS, Kafka SSL/SASL settings, and two labs on one NATS kept apart by
// L2TP_SUBJECT_PREFIX with the server's permissions still holding under the prefix.
import { spawnSync } from 'node:child_process'
import * as E from 'fp-ts/lib/Either.js'
import type { Service } from 'nats'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import {
  endpointSubjects,
  issuedSubject,
  type L2tpEvent,
  ListEndpoints,
  nodeServiceMetadata,
  okReply,
  registrySubjects,
  SERVICE_NODE,
  unsafe,
} from '../../contracts/index.js'
import { loadInfraConfig, natsUrl } from '../../infra/config.js'
import { grant, storedIdentity } from '../../infra/identities.js'
import { endpointCommands } from '../../nodes/shell/commands.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { kafkaSecurityFromEnv, natsFromEnv } from '../../registry/cli/env.js'
import {
  connectNats,
  discoverServices,
  endpoint,
  type NatsConnection,
  request,
  serve,
} from '../../registry/shell/index.js'
import { rightOrThrow } from '../support/brokers.js'
import { grantNode, natsAsOperator } from '../support/identity.js'
import { engineConfig } from '../support/sim.js'

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`
const saved = { ...process.env }
const KEYS = [
  'NATS_USER',
  'NATS_PASS',
  'NATS_NKEY',
  'NATS_CREDS',
  'NATS_URL',
  'L2TP_SUBJECT_PREFIX',
  'KAFKA_SSL',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
]
const setEnv = (vars: Record<string, string>) => {
  for (const k of KEYS) delete process.env[k]
  Object.assign(process.env, vars)
}
afterEach(() => {
  for (const k of KEYS) delete process.env[k]
  for (const k of KEYS) if (saved[k] !== undefined) process.env[k] = saved[k]
  vi.restoreAllMocks()
})

const connectFails = async (deps: ReturnType<typeof natsFromEnv>) => {
  const r = await connectNats({ ...deps, name: 'test-credentials' })()
  if (E.isRight(r)) await r.right.close()
  return E.isLeft(r) ? r.left.detail : null
}

describe('natsFromEnv', () => {
  it('a user without a secret, or a secret without a user, is refused: no fallback to a dev password', async () => {
    setEnv({ NATS_USER: 'alice' })
    expect(await connectFails(natsFromEnv('operator'))).toMatch(/NATS_USER=alice is set but NATS_PASS/)
    setEnv({ NATS_PASS: 'x' })
    expect(await connectFails(natsFromEnv('operator'))).toMatch(/NATS_USER must name the identity/)
  })

  it('a node without credentials of its own does not get another identity’s', async () => {
    setEnv({})
    const d = natsFromEnv('node', `nobody-${RUN}`)
    expect(d.user).toBe(`node-nobody-${RUN}`)
    expect(await connectFails(d)).toMatch(/no NATS credentials for 'node-nobody-/)
  })

  it('dev credentials are found in infra’s store and work; explicit ones too', async () => {
    setEnv({})
    expect(await connectFails(natsFromEnv('auditor'))).toBeNull()
    const op = storedIdentity(loadInfraConfig(), 'operator')
    setEnv({ NATS_USER: 'operator', NATS_PASS: op?.password ?? '' })
    expect(await connectFails(natsFromEnv('registry'))).toBeNull() // the identity named, not the role's
    setEnv({ NATS_USER: 'operator', NATS_PASS: 'wrong' })
    expect(await connectFails(natsFromEnv('operator'))).toMatch(/auth/i)
  })

  it('an nkey identity logs in with its seed file (NATS_NKEY) and its permissions hold; no password login', async () => {
    const name = `nk-${RUN}`
    const id = await grant(loadInfraConfig(), { kind: 'operator', name, nkey: true })
    expect(id.nkey?.publicKey).toMatch(/^U/)
    setEnv({ NATS_USER: name, NATS_NKEY: id.nkey?.seedFile ?? '' })
    const nc = rightOrThrow(await connectNats({ ...natsFromEnv('operator'), name: 'test-nkey' })())
    try {
      const drain = { type: 'DrainEndpoint', v: 1, endpointId: 'nobody' }
      const own = await request(nc, issuedSubject('l2tp.ep.nobody.drain', name), drain, 3000)()
      expect(E.isLeft(own) && own.left._tag).toBe('NoResponders') // allowed, served by nobody
      const other = await request(nc, issuedSubject('l2tp.ep.nobody.drain', 'operator'), drain, 3000)()
      expect(E.isLeft(other) && other.left._tag).toBe('PermissionDenied')
    } finally {
      await nc.close()
    }
    setEnv({ NATS_USER: name, NATS_PASS: id.password })
    expect(await connectFails(natsFromEnv('operator'))).toMatch(/auth/i)
  })

  it('dev credentials toward a non-loopback NATS print a warning', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    setEnv({ NATS_URL: 'nats://127.0.0.1:4222' })
    natsFromEnv('operator')
    expect(write).not.toHaveBeenCalled()
    setEnv({ NATS_URL: 'nats://nats.example.net:4222' })
    natsFromEnv('operator')
    expect(write).toHaveBeenCalledTimes(1)
    expect(String(write.mock.calls[0]?.[0])).toMatch(/^warning: using the dev credentials of 'operator'.*\n$/)
  })

  it('a malformed subject prefix is refused', async () => {
    setEnv({ L2TP_SUBJECT_PREFIX: 'a.b.' })
    expect(await connectFails(natsFromEnv('auditor'))).toMatch(/L2TP_SUBJECT_PREFIX must be one token/)
  })

  it('l2tpctl with half credentials says so in one line and exits 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'registry/cli/l2tpctl.ts', 'endpoints'], {
      env: { ...process.env, NATS_USER: 'alice', NATS_PASS: '' },
      encoding: 'utf8',
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^l2tpctl: cannot reach NATS: NATS_USER=alice is set but NATS_PASS[^\n]*\n$/)
  })
})

describe('kafkaSecurityFromEnv', () => {
  it('passes SSL and SASL through, and refuses incomplete or unknown SASL settings', () => {
    setEnv({})
    expect(kafkaSecurityFromEnv()).toEqual({})
    setEnv({
      KAFKA_SSL: '1',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    })
    expect(kafkaSecurityFromEnv()).toEqual({
      ssl: {},
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    })
    setEnv({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' })
    expect(() => kafkaSecurityFromEnv()).toThrow(/KAFKA_SASL_PASSWORD/)
    setEnv({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })
    expect(() => kafkaSecurityFromEnv()).toThrow(/plain, scram-sha-256 or scram-sha-512/)
  })
})

describe('two labs on one NATS', () => {
  const conns: NatsConnection[] = []
  const services: Service[] = []
  const as = async (name: string, prefix: string) => {
    const id = storedIdentity(loadInfraConfig(), name)
    if (id === null) throw new Error(`no identity ${name}`)
    const nc = rightOrThrow(
      await connectNats({
        servers: natsUrl(),
        user: id.name,
        pass: id.password,
        name: 'lab',
        subjectPrefix: prefix,
      })(),
    )
    conns.push(nc)
    return nc
  }
  afterAll(async () => {
    for (const s of services) await s.stop().catch(() => undefined)
    for (const nc of conns) await nc.close()
  })

  it('each lab’s registry answers only its own lab', async () => {
    for (const lab of ['laba.', 'labb.'])
      services.push(
        await serve(
          await as('registry', lab),
          { name: 'l2tp-registry', version: '0.1.0', description: lab },
          [
            endpoint({
              name: 'endpoints',
              subject: registrySubjects.endpoints,
              request: ListEndpoints,
              handle: async () => okReply(lab),
            }),
          ],
        ),
      )
    const ask = async (prefix: string) =>
      request(
        await as('auditor', prefix),
        registrySubjects.endpoints,
        { type: 'ListEndpoints', v: 1 },
        3000,
      )()
    expect(rightOrThrow(await ask('laba.'))).toEqual({ ok: true, result: 'laba.' })
    expect(rightOrThrow(await ask('labb.'))).toEqual({ ok: true, result: 'labb.' })
    const none = await ask('labc.')
    expect(E.isLeft(none) && none.left._tag).toBe('NoResponders')
  })

  it('discovery keeps to its lab: `nodes` of one lab lists none of another lab’s node instances', async () => {
    const ids = { a: `disc-a-${RUN}`, b: `disc-b-${RUN}` }
    await grantNode(ids.a, [])
    await grantNode(ids.b, [])
    const spec = (nodeId: string) => ({
      name: SERVICE_NODE,
      version: '0.1.0',
      description: 'lab',
      metadata: nodeServiceMetadata(nodeId),
    })
    services.push(await serve(await as(`node-${ids.a}`, 'laba.'), spec(ids.a), []))
    services.push(await serve(await as(`node-${ids.b}`, 'labb.'), spec(ids.b), []))
    const seen = async (prefix: string) =>
      (await discoverServices(await as('auditor', prefix), 500)).map((i) => i.nodeId)
    const [a, b] = [await seen('laba.'), await seen('labb.')]
    expect(a).toContain(ids.a)
    expect(a).not.toContain(ids.b)
    expect(b).toContain(ids.b)
    expect(b).not.toContain(ids.a)
  })

  it('permissions hold under the prefix: the node serves its endpoint, operators act under their own name', async () => {
    const ep = unsafe.endpointId(`lab-ep-${RUN}`)
    const nodeId = `lab-node-${RUN}`
    await grantNode(nodeId, [ep])
    await (await natsAsOperator('alice')).close()
    const events: L2tpEvent[] = []
    const lns = new UdpEndpoint(
      engineConfig({ role: 'LNS', hostName: 'lns-lab' }),
      { host: '127.0.0.72', port: unsafe.port(1701) },
      { endpointId: ep, nodeId: unsafe.nodeId(nodeId), epoch: 1 },
      { onEvent: (e) => events.push(e) },
    )
    await lns.start()
    try {
      const node = await as(`node-${nodeId}`, 'laba.')
      services.push(
        await serve(node, { name: 'l2tp-node', version: '0.1.0', description: 'lab' }, endpointCommands(lns)),
      )
      const alice = await as('alice', 'laba.')
      const drain = { type: 'DrainEndpoint', v: 1, endpointId: ep }
      const bob = await request(alice, issuedSubject(endpointSubjects(ep).drain, 'bob'), drain, 3000)()
      expect(E.isLeft(bob) && bob.left._tag).toBe('PermissionDenied')
      expect(lns.engine.refuseNew).toBe(false)
      const other = await request(
        await as('alice', 'labb.'),
        issuedSubject(endpointSubjects(ep).drain, 'alice'),
        drain,
        3000,
      )()
      expect(E.isLeft(other) && other.left._tag).toBe('NoResponders')
      const r = rightOrThrow(
        await request(alice, issuedSubject(endpointSubjects(ep).drain, 'alice'), drain, 3000)(),
      )
      expect(r).toMatchObject({ ok: true })
      expect(lns.engine.refuseNew).toBe(true)
      expect(events.filter((e) => e.type === 'CommandApplied')).toMatchObject([
        { command: 'DrainEndpoint', issuer: 'alice', subject: endpointSubjects(ep).drain, result: 'applied' },
      ])
    } finally {
      await lns.stop()
    }
  })
})
