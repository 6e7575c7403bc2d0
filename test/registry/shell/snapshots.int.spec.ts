// Durable snapshots on real Kafka: a snapshot write that fails heals at the next interval, a log
// whose start retention has cut is rehydrated only from a snapshot that covers it (a gap is
// reported and refused, never replayed partially), and a 100,000-session endpoint's snapshot
// fits the topic's limits.
import * as E from 'fp-ts/lib/Either.js'
import { ConfigResourceTypes, type Kafka } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { type L2tpEvent, type TopicNames, unsafe } from '../../../contracts/index.js'
import { startPublishing } from '../../../nodes/shell/publishing.js'
import { UdpEndpoint } from '../../../nodes/shell/udp-endpoint.js'
import {
  canonicalJson,
  type EndpointTable,
  encodeSnapshot,
  encodeSnapshotBinary,
  replay,
} from '../../../registry/index.js'
import {
  type EndpointWriter,
  type EventLogDeps,
  loadEndpointSnapshot,
  loadPartitionCheckpoint,
  loadSnapshots,
  openEndpointWriter,
  partitionOffsets,
  RegistryService,
  rehydrateEndpoint,
  writeSnapshots,
} from '../../../registry/shell/index.js'
import { registryMonitor } from '../../../registry/shell/registry-metrics.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../../support/brokers.js'
import { waitFor } from '../../support/churn.js'
import { endpointActivated, history, sessionEstablished, tunnelEstablished } from '../../support/history.js'
import { natsAsRegistry } from '../../support/identity.js'
import { engineConfig } from '../../support/sim.js'

const writers: EndpointWriter[] = []
const registries: RegistryService[] = []
afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop().catch(() => undefined)))
  await Promise.all(writers.map((w) => w.close().catch(() => undefined)))
})

const append = async (deps: EventLogDeps, events: readonly L2tpEvent[]) => {
  const w = rightOrThrow(await openEndpointWriter(deps, (events[0] as L2tpEvent).endpointId)())
  writers.push(w)
  for (let i = 0; i < events.length; i += 500) rightOrThrow(await w.append(events.slice(i, i + 500))())
  await w.close()
}

const registry = async (deps: EventLogDeps, warnings: string[] = []) => {
  const r = new RegistryService(deps, {
    groupId: `snap-${Math.random().toString(36).slice(2)}`,
    snapshotEveryEvents: 1_000_000,
    snapshotEveryMs: 200,
    warn: (m) => warnings.push(m),
  })
  registries.push(r)
  await r.start()
  return r
}

const setSnapshotLimit = async (kafka: Kafka, names: TopicNames, bytes: number) => {
  const admin = kafka.admin()
  await admin.connect()
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: names.snapshots,
        configEntries: [{ name: 'max.message.bytes', value: String(bytes) }],
      },
    ],
  })
  await admin.disconnect()
}

/** Retention by hand: the partition's log now starts at `offset`. */
const cutLogStart = async (kafka: Kafka, names: TopicNames, offset: number) => {
  const admin = kafka.admin()
  await admin.connect()
  await admin.fetchTopicMetadata({ topics: [names.events] }) // kafkajs needs it loaded first
  await admin.deleteTopicRecords({
    topic: names.events,
    partitions: [{ partition: 0, offset: String(offset) }],
  })
  await admin.disconnect()
}

/** The committed end of l2tp.events partition 0. */
const loadPartitionEnd = async (deps: EventLogDeps): Promise<string | undefined> =>
  rightOrThrow(await partitionOffsets(deps, deps.names.events)()).find((p) => p.partition === 0)?.high

const fold = (events: readonly L2tpEvent[], id: string): string =>
  canonicalJson(replay(events).get(id) as EndpointTable)

describe('durable snapshots', () => {
  it('a snapshot write that fails heals at the next interval, its endpoints still dirty', async () => {
    const names = await freshTopics(2)
    const deps = eventLogDeps(names, 'snap-heal')
    const eps = ['heal-a', 'heal-b', 'heal-c']
    const all = eps.map((id, i) => [...history({ endpointId: id, events: 300, seed: 10 + i })])
    for (const h of all) await append(deps, h)
    // The broker refuses every snapshot record (bigger than 100 bytes): the writes fail.
    await setSnapshotLimit(deps.kafka, names, 100)
    const warnings: string[] = []
    const r = await registry(deps, warnings)
    await waitFor('the fold', () => eps.every((id) => (r.fleet.get(id)?.seq ?? 0) >= 300))
    await waitFor('a failed snapshot write', () => r.snapshotFailures >= 1)
    expect(r.snapshotsWritten).toBe(0)
    expect(warnings.some((w) => /snapshot write of partition \d failed/.test(w))).toBe(true)
    const nc = await natsAsRegistry()
    const monitor = registryMonitor(r, deps, nc)
    const failures = /^l2tp_registry_snapshot_failures_total (\d+)$/m.exec(await monitor.registry.metrics())
    monitor.stop()
    await nc.close()
    expect(Number(failures?.[1])).toBeGreaterThanOrEqual(1)
    // The broker accepts them again: the next interval writes every endpoint, no new event needed.
    await setSnapshotLimit(deps.kafka, names, 128 * 1024 * 1024)
    await waitFor('snapshots written', () => r.snapshotsWritten >= eps.length)
    const loaded = await loadSnapshots(deps)
    for (const [i, id] of eps.entries()) {
      const t = loaded.fleet.get(id)
      expect(t && canonicalJson(t)).toBe(fold(all[i] as L2tpEvent[], id))
    }
    expect(loaded.startOffsets.size).toBe(2)
  })

  it('over a log that no longer starts at 0, a missing snapshot is a reported gap and refuses a rehydration', async () => {
    const names = await freshTopics(1)
    const deps = eventLogDeps(names, 'snap-gap')
    const events = [...history({ endpointId: 'gap-a', events: 200, seed: 3 })]
    await append(deps, events)
    await cutLogStart(deps.kafka, names, 50)
    const r = await rehydrateEndpoint(deps, 'gap-a', loadEndpointSnapshot, loadPartitionCheckpoint)()
    expect(E.isLeft(r) && r.left._tag === 'SnapshotGap' && r.left.detail).toMatch(
      /no snapshot of gap-a and .*\/0 starts at offset 50/,
    )
    // A node taking the endpoint over refuses to serve, in one line, rather than replay a part.
    const lns = new UdpEndpoint(
      engineConfig({ role: 'LNS', hostName: 'gap-a' }),
      { host: '127.0.0.1', port: unsafe.port(1701) },
      { endpointId: unsafe.endpointId('gap-a'), nodeId: unsafe.nodeId('node-2'), epoch: 1 },
    )
    await expect(startPublishing(lns, deps, () => undefined)).rejects.toThrow(
      /^refusing to take over gap-a: snapshot gap in partition 0: no snapshot of gap-a and \S+\/0 starts at offset 50$/,
    )
    const warnings: string[] = []
    const reg = await registry(deps, warnings)
    expect(reg.snapshotGaps.map((g) => g.partition)).toEqual([0])
    expect(warnings.join('\n')).toMatch(/snapshot gap, partition 0: .* starts at offset 50/)
    const nc = await natsAsRegistry()
    const monitor = registryMonitor(reg, deps, nc)
    try {
      expect(monitor.health.notReady()).toMatch(/snapshot gap in partition 0/)
      expect(await monitor.registry.metrics()).toMatch(/^l2tp_registry_snapshot_gaps 1$/m)
    } finally {
      monitor.stop()
      await nc.close()
    }
  })

  it('a snapshot covering the cut start rehydrates exactly; an unreadable one is a gap', async () => {
    const names = await freshTopics(1)
    const deps = eventLogDeps(names, 'snap-cover')
    const first = [...history({ endpointId: 'cov-a', events: 200, seed: 5 })]
    await append(deps, first)
    const r1 = await registry(deps)
    await waitFor('the fold', () => (r1.fleet.get('cov-a')?.seq ?? 0) >= 200)
    await r1.snapshot()
    await waitFor('a snapshot', () => r1.snapshotsWritten >= 1)
    await r1.stop()
    // More of cov-a after the snapshot, and cov-b, new, entirely after it; then the start is cut.
    const more = [...history({ endpointId: 'cov-a', events: 260, seed: 5 })].slice(200)
    const b = [...history({ endpointId: 'cov-b', events: 80, seed: 6 })]
    await append(deps, more)
    await append(deps, b)
    await cutLogStart(deps.kafka, names, 100)
    const a = rightOrThrow(
      await rehydrateEndpoint(deps, 'cov-a', loadEndpointSnapshot, loadPartitionCheckpoint)(),
    )
    expect(a.fromSnapshot).toBe(true)
    expect(canonicalJson(a.table)).toBe(fold([...first, ...more], 'cov-a'))
    // cov-b had no event before the checkpoint: a replay from the cut start is complete.
    const rb = rightOrThrow(
      await rehydrateEndpoint(deps, 'cov-b', loadEndpointSnapshot, loadPartitionCheckpoint)(),
    )
    expect(canonicalJson(rb.table)).toBe(fold(b, 'cov-b'))
    const r2 = await registry(deps)
    expect(r2.snapshotGaps).toEqual([])
    await waitFor('the tail', () => (r2.fleet.get('cov-b')?.seq ?? 0) >= 80)
    expect(canonicalJson(r2.fleet.get('cov-a') as EndpointTable)).toBe(fold([...first, ...more], 'cov-a'))
    await r2.stop()
    // A snapshot that does not decode, over that cut log: refused, and reported at start.
    const producer = deps.kafka.producer()
    await producer.connect()
    await producer.send({ topic: names.snapshots, messages: [{ key: 'cov-a', value: '{"type":"Snap' }] })
    await producer.disconnect()
    const bad = await rehydrateEndpoint(deps, 'cov-a', loadEndpointSnapshot, loadPartitionCheckpoint)()
    expect(E.isLeft(bad) && bad.left._tag === 'SnapshotGap' && bad.left.detail).toMatch(/unreadable/)
    const r3 = await registry(deps)
    expect(r3.snapshotGaps[0]?.detail).toMatch(/undecodable/)
  })

  it("a 100,000-session endpoint's snapshot fits l2tp.snapshots and reads back whole", async () => {
    const names = await freshTopics(1)
    const deps = eventLogDeps(names, 'snap-big')
    const id = 'big-100k'
    let seq = 0
    const env = () => ({
      endpointId: id,
      epoch: 1,
      seq: ++seq,
      at: 1_700_000_000_000 + seq,
      nodeId: 'node-1',
    })
    const events: L2tpEvent[] = [endpointActivated(env())]
    for (let t = 1; t <= 100; t++) {
      events.push(tunnelEstablished(env(), t, t))
      for (let s = 1; s <= 1000; s++) events.push(sessionEstablished(env(), t, s, seq))
    }
    const table = replay(events).get(id) as EndpointTable
    const bytes = encodeSnapshot({ table, partition: 0, nextOffset: unsafe.offset('100101') }).length
    expect(bytes).toBeGreaterThan(16 * 1024 * 1024) // as JSON: far past Kafka's default 1 MB record limit
    const binary = encodeSnapshotBinary({ table, partition: 0, nextOffset: unsafe.offset('100101') }).length
    expect(binary).toBeGreaterThan(1024 * 1024) // and binary (what is written) still past it
    const producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    await writeSnapshots(producer, deps, 0, unsafe.offset('100101'), [table])
    await producer.disconnect()
    const back = await loadEndpointSnapshot(deps, id)
    expect(back?.nextOffset).toBe('100101')
    expect(back && canonicalJson(back.table)).toBe(canonicalJson(table))
  }, 120_000)

  it('a registry restarts from JSON snapshot records of before next to binary ones, equal to a replay', async () => {
    const names = await freshTopics(1)
    const deps = eventLogDeps(names, 'snap-json')
    const ha = [...history({ endpointId: 'json-a', events: 400, seed: 21 })]
    const hb = [...history({ endpointId: 'bin-b', events: 400, seed: 22 })]
    await append(deps, ha.slice(0, 300))
    await append(deps, hb.slice(0, 300))
    const head = replay([...ha.slice(0, 300), ...hb.slice(0, 300)])
    const end = (await loadPartitionEnd(deps)) as string
    // json-a's snapshot as the registry wrote it before (JSON text), bin-b's and the checkpoint binary.
    const producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const a = head.get('json-a') as EndpointTable
    await producer.send({
      topic: names.snapshots,
      messages: [
        { key: 'json-a', value: encodeSnapshot({ table: a, partition: 0, nextOffset: unsafe.offset(end) }) },
      ],
    })
    await writeSnapshots(producer, deps, 0, unsafe.offset(end), [head.get('bin-b') as EndpointTable])
    await producer.disconnect()
    await append(deps, ha.slice(300))
    await append(deps, hb.slice(300))
    const loaded = await loadSnapshots(deps)
    expect([loaded.snapshots, loaded.undecodable]).toEqual([2, 0])
    const r = await registry(deps)
    expect(r.loadedSnapshots).toBe(2)
    await waitFor(
      'the tails',
      () => (r.fleet.get('json-a')?.seq ?? 0) >= 400 && (r.fleet.get('bin-b')?.seq ?? 0) >= 400,
    )
    expect(canonicalJson(r.fleet.get('json-a') as EndpointTable)).toBe(fold(ha, 'json-a'))
    expect(canonicalJson(r.fleet.get('bin-b') as EndpointTable)).toBe(fold(hb, 'bin-b'))
  })
})
