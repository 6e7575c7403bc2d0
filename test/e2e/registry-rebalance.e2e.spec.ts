// Issue 10, Build 1 and 2, on real Kafka and NATS: registry instances of one consumer group
// answer only for the partitions they hold. Two instances, then a third joins, then one leaves:
// after each step every query (endpoints, endpoint, tunnel, session, as-of, timeline), asked of
// the public subjects (whichever instance takes it), equals a replay of the whole log, and the
// gathered endpoint list is complete. Snapshot writers are fenced per partition; a restart of
// every instance equals a full replay.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EndpointsPage,
  encodeEvent,
  type L2tpEvent,
  Reply,
  registrySubjects,
  ServedProps,
  type TopicNames,
  unsafe,
} from '../../contracts/index.js'
import {
  canonicalJson,
  type EndpointTable,
  emptyTable,
  evolve,
  sessionView,
  tunnelView,
} from '../../registry/index.js'
import {
  isFencing,
  loadSnapshots,
  type NatsConnection,
  openSnapshotWriter,
  partitionFor,
  partitionOffsets,
  RegistryService,
  request,
  timeline,
} from '../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../support/brokers.js'
import { waitFor } from '../support/churn.js'
import { history } from '../support/history.js'
import { cliProcessEnv, natsAsAuditor, natsAsRegistry, refreshNatsPermissions } from '../support/identity.js'
import { pagedTable } from '../support/paging.js'
import { ctl } from '../support/programs.js'

const RUN = randomUUID().slice(0, 6)
const PREFIX = `rb${RUN}.`
const PARTITIONS = 4
const ENDPOINTS = Array.from({ length: 8 }, (_, i) => `rb-${RUN}-${i}`)
const EVENTS = 240
const START = 1_800_000_000_000
const group = `registry-rb-${RUN}`

let names: TopicNames
let auditor: NatsConnection
const events = new Map<string, L2tpEvent[]>()
const published = new Map<string, number>()
const running: Array<{ service: RegistryService; nc: NatsConnection }> = []

const publish = async (upTo: number) => {
  const producer = eventLogDeps(names, 'rb-producer').kafka.producer()
  await producer.connect()
  for (const id of ENDPOINTS) {
    const all = events.get(id) ?? []
    const from = published.get(id) ?? 0
    const messages = all.slice(from, upTo).map((e) => ({
      key: id,
      value: encodeEvent(e),
      partition: partitionFor(id, PARTITIONS),
    }))
    if (messages.length > 0) await producer.send({ topic: names.events, messages })
    published.set(id, Math.max(from, Math.min(upTo, all.length)))
  }
  await producer.disconnect()
}

/** The whole log of one endpoint folded from nothing (what was published, in order). */
const replayed = (id: string, cut: number = Number.MAX_SAFE_INTEGER): EndpointTable => {
  const t = emptyTable(unsafe.endpointId(id))
  for (const e of (events.get(id) ?? []).slice(0, published.get(id) ?? 0)) if (e.at <= cut) evolve(t, e)
  return t
}

const startInstance = async (name: string) => {
  const service = new RegistryService(eventLogDeps(names, `rb-${name}`), {
    groupId: group,
    snapshotEveryEvents: 100,
    snapshotEveryMs: 500,
    instance: name,
    warn: (m) => console.log(`[${name}] ${m}`),
  })
  await service.start()
  const nc = await natsAsRegistry(PREFIX)
  await service.serveQueries(nc)
  running.push({ service, nc })
  return service
}

const stopInstance = async (name: string) => {
  const i = running.findIndex((r) => r.service.instance === name)
  const r = running[i]
  if (r === undefined) return
  running.splice(i, 1)
  await r.service.stop()
  await r.nc.close()
}

/** Every partition held by exactly one running instance, answering, and folded to the log's end. */
const settled = async () => {
  const ends = rightOrThrow(await partitionOffsets(eventLogDeps(names, 'rb-ends'), names.events)())
  await waitFor(
    'the group to settle',
    () => {
      const held = running.flatMap((r) => r.service.assigned).sort()
      if (JSON.stringify(held) !== JSON.stringify([...Array(PARTITIONS).keys()])) return false
      return ends.every((e) => {
        const r = running.find((x) => x.service.assigned.includes(e.partition))
        return r?.service.serving(e.partition) === true && r.service.positions.get(e.partition) === e.high
      })
    },
    90_000,
  )
}

const holderOf = (id: string) =>
  running.find((r) => r.service.assigned.includes(partitionFor(id, PARTITIONS)))?.service.instance

const ask = async (subject: string, body: Record<string, unknown>) => {
  for (let i = 0; ; i++) {
    const r = rightOrThrow(await request(auditor, subject, body, 30_000)())
    // A rebalance that has not reached every router yet answers a retryable Unavailable.
    if ((r as { code?: unknown }).code !== 'Unavailable' || i >= 20) return r
    await new Promise((res) => setTimeout(res, 250))
  }
}

const gatheredPage = (reply: unknown) => {
  const d = Reply(EndpointsPage).decode(reply)
  if (d._tag === 'Left' || !d.right.ok) throw new Error(`not a page: ${JSON.stringify(reply).slice(0, 300)}`)
  return d.right
}

const servedOf = (r: unknown) => {
  const d = ServedProps.decode(r)
  return d._tag === 'Right' ? (d.right.served ?? []) : []
}

/** Every query, asked of the public subjects a few times (any instance may take each), against a replay. */
const everyQueryEqualsReplay = async () => {
  const want = ENDPOINTS.map((id) => replayed(id)).sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1))
  for (let round = 0; round < 3; round++) {
    // The gathered list, in pages of 3 (pages cut across partitions), complete and exact.
    const seen: unknown[] = []
    let cursor: string | null = null
    do {
      const reply = await ask(registrySubjects.endpoints, {
        type: 'ListEndpoints',
        v: 1,
        limit: 3,
        ...(cursor === null ? {} : { cursor }),
      })
      const page = gatheredPage(reply)
      expect(page.result).toMatchObject({ complete: true, missing: [] })
      const instances = new Set(running.map((r) => r.service.instance))
      expect(servedOf(reply).every((s) => instances.has(s.instance))).toBe(true)
      seen.push(...page.result.items.map(({ liveness: _l, ...rest }) => rest))
      cursor = page.result.next
    } while (cursor !== null)
    expect(seen).toEqual(
      want.map((t) => ({
        endpointId: t.endpointId,
        epoch: t.epoch,
        owner: t.owner,
        active: t.active,
        role: t.role,
        address: t.address,
        tunnels: t.tunnels.size,
        sessions: [...t.tunnels.values()].reduce((n, x) => n + x.sessions.size, 0),
        consistent: t.consistent,
      })),
    )
    for (const t of want) {
      const id = t.endpointId
      const one = await pagedTable(auditor, registrySubjects.endpoint, {
        type: 'GetEndpoint',
        v: 1,
        endpointId: id,
      })
      expect(JSON.stringify(one.view)).toBe(canonicalJson(t))
      const [tid, tunnel] = [...t.tunnels.entries()][0] ?? []
      if (tid === undefined || tunnel === undefined) continue
      const tr = await ask(registrySubjects.tunnel, {
        type: 'GetTunnel',
        v: 1,
        endpointId: id,
        localTunnelId: tid,
      })
      expect(tr).toMatchObject({ ok: true, result: JSON.parse(JSON.stringify(tunnelView(tunnel))) })
      // The answer names the instance that holds the endpoint's partition, and the partition.
      expect(servedOf(tr)).toMatchObject([
        { instance: holderOf(id), partition: partitionFor(id, PARTITIONS) },
      ])
      const [sid, session] = [...tunnel.sessions.entries()][0] ?? []
      if (sid === undefined || session === undefined) continue
      const sr = await ask(registrySubjects.session, {
        type: 'GetSession',
        v: 1,
        endpointId: id,
        localTunnelId: tid,
        localSessionId: sid,
      })
      expect(sr).toMatchObject({ ok: true, result: JSON.parse(JSON.stringify(sessionView(session))) })
    }
  }
  // Forensics (they read the log): one endpoint as of a time, one tunnel's timeline.
  const id = ENDPOINTS[1] ?? ''
  const cut = START + 40
  const asOf = await pagedTable(auditor, registrySubjects.asOf, {
    type: 'GetStateAsOf',
    v: 1,
    endpointId: id,
    asOf: { at: cut },
  })
  expect(JSON.stringify(asOf.view)).toBe(canonicalJson(replayed(id, cut)))
  const [tid] = [...replayed(id).tunnels.keys()]
  if (tid !== undefined) {
    const body = { type: 'GetTimeline', v: 1, endpointId: id, localTunnelId: tid, localSessionId: null }
    const reply = await ask(registrySubjects.timeline, body)
    const direct = rightOrThrow(await timeline(eventLogDeps(names, 'rb-tl'), id, tid, null)())
    expect(reply).toMatchObject({ ok: true, result: { items: JSON.parse(JSON.stringify(direct)) } })
  }
  // Each instance holds the tables of its own partitions only.
  for (const r of running)
    for (const key of r.service.fleet.keys())
      expect(r.service.assigned).toContain(partitionFor(key, PARTITIONS))
}

beforeAll(async () => {
  names = await freshTopics(PARTITIONS)
  for (const [i, id] of ENDPOINTS.entries())
    events.set(id, [...history({ endpointId: id, events: EVENTS, seed: 10 + i, startAt: START, stepMs: 1 })])
  await refreshNatsPermissions()
  auditor = await natsAsAuditor(PREFIX)
})

afterAll(async () => {
  for (const r of [...running]) await stopInstance(r.service.instance)
  await auditor?.close()
})

describe('registry instances of one group answer by partition', () => {
  it('two instances, then a third joins, then one leaves: every answer equals a full replay', async () => {
    await refreshNatsPermissions()
    await publish(80)
    await Promise.all([startInstance('a'), startInstance('b')])
    await settled()
    expect(running.every((r) => r.service.assigned.length > 0)).toBe(true)
    await everyQueryEqualsReplay()

    await publish(160)
    await startInstance('c')
    await settled()
    await everyQueryEqualsReplay()

    await stopInstance('b')
    await publish(EVENTS)
    await settled()
    await everyQueryEqualsReplay()
  }, 240_000)

  it('partitions held by no registry instance are missing from the gathered list (also in l2tpctl) and their keys answer Unavailable', async () => {
    await refreshNatsPermissions()
    // A member of the group that is not a registry (stuck, misconfigured) takes some partitions.
    const plain = eventLogDeps(names, 'rb-plain').kafka.consumer({ groupId: group })
    let taken: number[] = []
    plain.on(plain.events.GROUP_JOIN, ({ payload }) => {
      taken = [...(payload.memberAssignment[names.events] ?? [])].sort()
    })
    await plain.connect()
    await plain.subscribe({ topic: names.events, fromBeginning: false })
    await plain.run({ autoCommit: false, eachBatch: async () => undefined })
    try {
      await waitFor(
        'the plain member to take partitions from the registries',
        () =>
          taken.length > 0 &&
          // Every member on the same generation: the registries' and the plain member's add up.
          JSON.stringify([...running.flatMap((r) => r.service.assigned), ...taken].sort()) ===
            JSON.stringify([...Array(PARTITIONS).keys()]) &&
          running.every((r) => r.service.assigned.every((p) => r.service.serving(p))),
        90_000,
      )
      const reply = rightOrThrow(
        await request(auditor, registrySubjects.endpoints, { type: 'ListEndpoints', v: 1 }, 30_000)(),
      )
      const page = gatheredPage(reply)
      expect(page.result).toMatchObject({ complete: false, missing: taken })
      const held = ENDPOINTS.filter((id) => !taken.includes(partitionFor(id, PARTITIONS))).sort()
      expect(page.result.items.map((e) => e.endpointId)).toEqual(held)
      const lost = ENDPOINTS.find((id) => taken.includes(partitionFor(id, PARTITIONS)))
      if (lost !== undefined) {
        const one = rightOrThrow(
          await request(
            auditor,
            registrySubjects.endpoint,
            { type: 'GetEndpoint', v: 1, endpointId: lost },
            30_000,
          )(),
        )
        expect(one).toMatchObject({ ok: false, code: 'Unavailable' })
      }
      const out = await ctl(['endpoints'], {
        ...(await cliProcessEnv('auditor')),
        L2TP_SUBJECT_PREFIX: PREFIX,
      })
      expect(out.code).toBe(1)
      expect(out.stderr).toContain(`incomplete: missing partitions ${taken.join(', ')}`)
      for (const id of held) expect(out.stdout).toContain(id)
    } finally {
      await plain.disconnect()
    }
    await settled()
  }, 180_000)

  it("a revoked writer's snapshot never goes back in time; a restart of every instance equals a full replay", async () => {
    const other = await freshTopics(1)
    const deps = eventLogDeps(other, 'rb-fence')
    const old = await openSnapshotWriter(deps, group, 0)
    const next = await openSnapshotWriter(deps, group, 0)
    expect(await next.write(unsafe.offset('10'), [])).toBe('written')
    const stale = await old.write(unsafe.offset('5'), []).then(
      () => 'written',
      (e: unknown) => (isFencing(e) ? 'fenced' : `failed: ${String(e)}`),
    )
    expect(stale).toBe('fenced')
    expect(await next.write(unsafe.offset('7'), [])).toBe('behind')
    await old.close()
    await next.close()
    expect((await loadSnapshots(deps)).startOffsets.get(0)).toBe('10')

    // Every instance stops (after a last snapshot); fresh ones restore snapshot + tail.
    await refreshNatsPermissions()
    for (const r of running) await r.service.snapshot()
    for (const r of [...running]) await stopInstance(r.service.instance)
    const e = await startInstance('e')
    const f = await startInstance('f')
    await settled()
    expect(e.loadedSnapshots + f.loadedSnapshots).toBeGreaterThan(0)
    await everyQueryEqualsReplay()
  }, 180_000)
})
