// The Kafka broker is stopped and started again in the middle of the churn. It is a broker of
// this test's own (other ports, its own data dir), so the shared broker of the suite is untouched.
// No event is lost, none applied twice (seq continuity), and the node kept serving L2TP.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { topicNames } from '../../contracts/index.js'
import { type InfraConfig, loadInfraConfig } from '../../infra/config.js'
import { kafkaDown, kafkaUp } from '../../infra/kafka.js'
import { canonicalJson } from '../../registry/index.js'
import {
  type EventLogDeps,
  ensureTopics,
  foldHistory,
  makeKafka,
  RegistryService,
  readEndpointHistory,
} from '../../registry/shell/index.js'
import { rightOrThrow } from '../support/brokers.js'
import { churn, type Rig, sleep, startRig, waitFor } from '../support/churn.js'

const EP = 'lns-restart'
let c: InfraConfig
let deps: EventLogDeps
let rig: Rig | undefined

beforeAll(async () => {
  const base = loadInfraConfig()
  const dir = mkdtempSync(join(tmpdir(), 'kafka-restart-'))
  c = {
    ...base,
    // Apart from the suite's broker (19092) and from the cluster's (29092-29094, 29192-29194).
    kafkaPort: 39092,
    kafkaControllerPort: 39093,
    kafkaNodes: [{ id: 1, port: 39092, controllerPort: 39093 }],
    cluster: false,
    dataDir: join(dir, 'data'),
    runDir: join(dir, 'run'),
  }
  await kafkaUp(c)
  const brokers = [`127.0.0.1:${c.kafkaPort}`]
  const names = topicNames('restart.')
  await ensureTopics({ brokers, names })
  deps = { kafka: makeKafka({ brokers, clientId: 'restart-test' }), names }
}, 180_000)

afterAll(async () => {
  await rig?.stop()
  await kafkaDown(c)
}, 60_000)

describe('Kafka restart during churn', () => {
  it('no event lost, none applied twice, and L2TP kept being served while Kafka was away', async () => {
    rig = await startRig(deps, EP, '127.0.0.80', '127.0.0.81')
    const r = rig
    await churn(r, { tunnels: 40, sessions: 600, closeRatio: 0.3, seed: 5 })
    await r.publishing.outbox.drain()
    await kafkaDown(c)
    // Kafka is away: the node keeps serving (tunnels and sessions come up), events wait.
    const before = r.up.sessions
    await churn(r, { tunnels: 20, sessions: 400, closeRatio: 0.3, seed: 6 })
    expect(r.up.sessions).toBeGreaterThanOrEqual(before + 400)
    expect(r.publishing.outbox.pending).toBeGreaterThan(0)
    await kafkaUp(c)
    await churn(r, { tunnels: 10, sessions: 200, closeRatio: 0.3, seed: 7 })
    await waitFor('outbox drained after the restart', () => r.publishing.outbox.pending === 0, 120_000)
    expect(r.publishing.outbox.dropped).toBe(0)
    // The log: every seq of the epoch exactly once after de-duplication, none missing.
    const history = rightOrThrow(await readEndpointHistory(deps, EP)())
    const seqs = history.events.map((e) => e.event.seq)
    const unique = [...new Set(seqs)]
    expect(unique).toEqual(Array.from({ length: r.lns.table.seq }, (_, i) => i + 1))
    // The fold applies each once: a fresh registry equals the node's own table.
    const registry = new RegistryService(deps, {
      groupId: `restart-${Date.now()}`,
      snapshotEveryEvents: 1000,
      snapshotEveryMs: 1000,
    })
    await registry.start()
    try {
      await waitFor('registry caught up', () => registry.fleet.get(EP)?.seq === r.lns.table.seq, 60_000)
      const t = registry.fleet.get(EP)
      expect(t?.consistent).toBe(true)
      expect(canonicalJson(t as NonNullable<typeof t>)).toBe(canonicalJson(r.lns.table))
      expect(t?.counters.duplicates).toBe(seqs.length - unique.length)
      expect(canonicalJson(foldHistory(EP, history.events))).toBe(canonicalJson(r.lns.table))
    } finally {
      await registry.stop()
    }
    await sleep(1)
  }, 300_000)
})
