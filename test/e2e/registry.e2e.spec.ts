// End to end on real Kafka and NATS: our LAC simulator churns sessions against our LNS, which
// publishes every event; the registry folds them. Exactness, restart from snapshot + tail,
// state as of a time, export replayed offline, dead letters and stale epochs.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEvent, type L2tpEvent, type TopicNames } from '../../contracts/index.js'
import { canonicalJson, cloneTable, sessionCount } from '../../registry/index.js'
import {
  exportRange,
  foldHistory,
  type NatsConnection,
  RegistryService,
  readEndpointHistory,
  replayNdjson,
  request,
  stateAsOf,
  timeline,
  toNdjson,
} from '../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../support/brokers.js'
import { churn, type Rig, sleep, startRig, waitFor } from '../support/churn.js'
import { natsAsAuditor, natsAsOperator, natsAsRegistry } from '../support/identity.js'
import { pagedTable } from '../support/paging.js'

const EP = 'lns-e2e'
let names: TopicNames
let rig: Rig
let registry: RegistryService
let nc: NatsConnection
const asOf: { at: number; canonical: string } = { at: 0, canonical: '' }

const options = () => ({
  groupId: `registry-${randomUUID().slice(0, 8)}`,
  snapshotEveryEvents: 500,
  snapshotEveryMs: 1000,
})
const quiet = async (r: RegistryService) => {
  await rig.publishing.outbox.drain()
  await waitFor(
    'registry to catch up',
    () => r.fleet.get(EP)?.seq === rig.lns.table.seq && r.fleet.get(EP)?.epoch === rig.lns.table.epoch,
  )
}

beforeAll(async () => {
  names = await freshTopics()
  const deps = eventLogDeps(names, 'e2e')
  rig = await startRig(deps, EP, '127.0.0.70', '127.0.0.71')
  registry = new RegistryService(eventLogDeps(names, 'e2e-registry'), options())
  await registry.start()
  nc = await natsAsRegistry()
  await registry.serveQueries(nc)
})

afterAll(async () => {
  await rig?.stop()
  await registry?.stop()
  await nc?.close()
})

describe('registry end to end', () => {
  it('churn of 5,000 sessions over 200 tunnels with random closes; the registry is restarted in the middle', async () => {
    await churn(rig, { tunnels: 100, sessions: 2500, closeRatio: 0.3, seed: 1 })
    // A moment to remember for the as-of test: quiescent, the node's table at time T.
    await quiet(registry)
    asOf.at = Date.now()
    asOf.canonical = canonicalJson(cloneTable(rig.lns.table))
    await sleep(5)
    // Restart the registry mid-churn: a new instance resumes from snapshot + tail.
    await registry.snapshot()
    await registry.stop()
    await churn(rig, { tunnels: 100, sessions: 2500, closeRatio: 0.3, seed: 2 })
    registry = new RegistryService(eventLogDeps(names, 'e2e-registry-2'), options())
    await registry.start()
    expect(registry.loadedSnapshots).toBeGreaterThan(0)
    await registry.serveQueries(nc)
    await quiet(registry)
    expect(rig.up.sessions).toBeGreaterThanOrEqual(5000)
    expect(sessionCount(rig.lns.table)).toBeGreaterThan(1000)
  }, 240_000)

  it('at quiescence the registry table equals the node table byte for byte, and a fresh replay from offset 0', async () => {
    const node = canonicalJson(rig.lns.table)
    const live = registry.fleet.get(EP)
    expect(live).toBeDefined()
    expect(canonicalJson(live as NonNullable<typeof live>)).toBe(node)
    const history = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'replay'), EP)())
    expect(canonicalJson(foldHistory(EP, history.events))).toBe(node)
    // Seq continuity: every event exactly once, in order.
    const seqs = history.events.filter((e) => e.event.epoch === rig.lns.table.epoch).map((e) => e.event.seq)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    expect(live?.consistent).toBe(true)
    expect(live?.counters.duplicates).toBe(0)
  })

  it('queries over NATS: endpoints, one endpoint, one tunnel, one session', async () => {
    const ops = await natsAsAuditor()
    try {
      const list = rightOrThrow(
        await request(ops, 'l2tp.registry.endpoints', { type: 'ListEndpoints', v: 1 })(),
      )
      expect(list).toMatchObject({
        ok: true,
        result: {
          items: [{ endpointId: EP, consistent: true, tunnels: rig.lns.table.tunnels.size }],
          next: null,
        },
      })
      // The table comes in pages of rows; put back together, it is the node's table byte for byte.
      const one = await pagedTable(ops, 'l2tp.registry.endpoint', {
        type: 'GetEndpoint',
        v: 1,
        endpointId: EP,
      })
      expect(one.sizes.length).toBeGreaterThan(1)
      expect(JSON.stringify(one.view)).toBe(canonicalJson(rig.lns.table))
      const [tid, tunnel] = [...rig.lns.table.tunnels.entries()][0] ?? []
      const sid = [...(tunnel?.sessions.keys() ?? [])][0]
      const t = rightOrThrow(
        await request(ops, 'l2tp.registry.tunnel', {
          type: 'GetTunnel',
          v: 1,
          endpointId: EP,
          localTunnelId: tid,
        })(),
      )
      expect(t).toMatchObject({ ok: true, result: { localTunnelId: tid } })
      const s = rightOrThrow(
        await request(ops, 'l2tp.registry.session', {
          type: 'GetSession',
          v: 1,
          endpointId: EP,
          localTunnelId: tid,
          localSessionId: sid,
        })(),
      )
      expect(s).toMatchObject({ ok: true, result: { localSessionId: sid } })
      const missing = rightOrThrow(
        await request(ops, 'l2tp.registry.endpoint', { type: 'GetEndpoint', v: 1, endpointId: 'nope' })(),
      )
      expect(missing).toMatchObject({ ok: false, code: 'NotFound' })
    } finally {
      await ops.close()
    }
  })

  it('as-of: the state reported for time T equals the node table recorded at T (also over NATS)', async () => {
    const deps = eventLogDeps(names, 'asof')
    const t = rightOrThrow(await stateAsOf(deps, EP, { at: asOf.at })())
    expect(canonicalJson(t)).toBe(asOf.canonical)
    const op = await natsAsOperator()
    const r = await pagedTable(op, 'l2tp.registry.as-of', {
      type: 'GetStateAsOf',
      v: 1,
      endpointId: EP,
      asOf: { at: asOf.at },
    })
    expect(JSON.stringify(r.view)).toBe(asOf.canonical)
    await op.close()
  })

  it('an exported range replayed offline gives the same table as the online query', async () => {
    const deps = eventLogDeps(names, 'export')
    const lines = rightOrThrow(await exportRange(deps, asOf.at, Date.now())())
    expect(lines.some((l) => l.kind === 'snapshot')).toBe(true)
    const offline = replayNdjson(toNdjson(lines))
    expect(offline.badLines).toBe(0)
    const t = offline.fleet.get(EP)
    expect(canonicalJson(t as NonNullable<typeof t>)).toBe(
      canonicalJson(registry.fleet.get(EP) as NonNullable<ReturnType<typeof registry.fleet.get>>),
    )
    // As of T from the file alone.
    expect(
      canonicalJson(replayNdjson(toNdjson(lines), { at: asOf.at }).fleet.get(EP) as NonNullable<typeof t>),
    ).toBe(asOf.canonical)
  })

  it('timeline of one tunnel and one session, in log order', async () => {
    const deps = eventLogDeps(names, 'timeline')
    const [tid, tunnel] = [...rig.lns.table.tunnels.entries()][0] ?? []
    const sid = [...(tunnel?.sessions.keys() ?? [])][0] as number
    const tl = rightOrThrow(await timeline(deps, EP, tid as number, null)())
    expect(tl[0]?.event.type).toBe('TunnelEstablished')
    const sl = rightOrThrow(await timeline(deps, EP, tid as number, sid)())
    expect(sl.map((e) => e.event.type)).toContain('SessionEstablished')
    expect(
      sl.every(
        (e) =>
          e.event.type !== 'SessionEstablished' ||
          (e.event as { localSessionId: number }).localSessionId === sid,
      ),
    ).toBe(true)
  })

  it('malformed events go to the dead-letter topic and a stale-epoch event is rejected and counted; the registry goes on', async () => {
    const deps = eventLogDeps(names, 'bad')
    const producer = deps.kafka.producer()
    await producer.connect()
    const stale = {
      type: 'EndpointReleased',
      v: 1,
      endpointId: EP,
      epoch: rig.lns.table.epoch - 1,
      seq: 999_999,
      at: Date.now(),
      nodeId: 'zombie',
      reason: 'zombie write',
    } as unknown as L2tpEvent
    const before = registry.stats?.deadLetters ?? 0
    await producer.send({
      topic: names.events,
      messages: [
        { key: EP, value: '{"broken": ' },
        { key: EP, value: encodeEvent(stale) },
      ],
    })
    await producer.disconnect()
    await waitFor(
      'dead letter and stale count',
      () =>
        (registry.stats?.deadLetters ?? 0) > before &&
        (registry.fleet.get(EP)?.counters.staleRejected ?? 0) > 0,
    )
    expect(canonicalJson(registry.fleet.get(EP) as NonNullable<ReturnType<typeof registry.fleet.get>>)).toBe(
      canonicalJson(rig.lns.table),
    )
  })
})
