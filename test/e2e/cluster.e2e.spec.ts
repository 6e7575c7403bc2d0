// On the clustered infra (3 Kafka brokers, replication 3 / min ISR 2; 3 nats-servers, lease
// bucket R3), started once for this file: two `l2tp-node --ha` processes, our LAC holding tunnels
// while sessions open and close. kill -9 of the broker leading the endpoint's partition, then of
// the nats-server leading the lease bucket: no takeover, no session lost, no event lost.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TopicNames } from '../../contracts/index.js'
import { partitionFor } from '../../registry/shell/index.js'
import { freshTopics } from '../support/brokers.js'
import {
  type Cluster,
  killKafka,
  killNats,
  leaseLeaderId,
  partitionLeader,
  restartKafka,
  restartNats,
  useCluster,
} from '../support/cluster.js'
import {
  churn,
  type HaNode,
  hold,
  killNode,
  type Lac,
  leaseReader,
  serving,
  settle,
  sleep,
  startHaNode,
  startLac,
} from '../support/ha-rig.js'

// nats-server 2.9 elects a new Raft leader for an R3 stream within 2-5 s (its election timeout
// range), and no lease write can land meanwhile: an owner rides through the loss of the lease
// stream's leader only with a detection time above that. Measured with the 3 s default: the
// validity ran out ~2.3 s after the kill and the standby took over (docs/drills.md).
const DETECTION_MS = 8000
const RUN = Math.random().toString(36).slice(2, 8)
const EP = `lns-cluster-${RUN}`
let cluster: Cluster
let names: TopicNames
let dir: string
const nodes: HaNode[] = []
const downKafka: number[] = []
const downNats: number[] = []

const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 60_000) => {
  const until = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

beforeAll(async () => {
  cluster = await useCluster()
  names = await freshTopics()
  dir = mkdtempSync(join(tmpdir(), 'cluster-e2e-'))
}, 300_000)

afterAll(async () => {
  for (const n of nodes) await killNode(n)
  // A reused cluster (a developer's) is left whole; one started here is just stopped.
  if (cluster !== undefined && !cluster.startedHere) {
    for (const id of downKafka) await restartKafka(cluster.c, id).catch(() => undefined)
    for (const id of downNats) await restartNats(cluster.c, id).catch(() => undefined)
  }
  await cluster?.stop()
}, 300_000)

describe('clustered Kafka and NATS', () => {
  it('a Kafka broker and then a nats-server killed during churn: no takeover, no session lost, no event lost', async () => {
    const c = cluster.c
    const host = '127.0.0.120'
    const node1 = await startHaNode({
      dir,
      nodeId: 'cl-1',
      endpointId: EP,
      host,
      names,
      flags: ['--detection-ms', String(DETECTION_MS)],
    })
    nodes.push(node1)
    await waitFor('cl-1 serving', () => serving(node1), 90_000)
    const node2 = await startHaNode({
      dir,
      nodeId: 'cl-2',
      endpointId: EP,
      host,
      names,
      flags: ['--detection-ms', String(DETECTION_MS)],
    })
    nodes.push(node2)
    await sleep(3000) // cl-2 stands by
    const lease = await leaseReader()
    let lac: Lac | null = null
    try {
      const before = await lease.owner(EP)
      expect(before).toMatchObject({ node: 'cl-1', released: false })
      // The lease as it changes (diagnostics: when an epoch moved, relative to the kills).
      const t0 = Date.now()
      const changes: string[] = []
      let polling = true
      let last = JSON.stringify(before)
      const poll = (async () => {
        while (polling) {
          const v = JSON.stringify(await lease.owner(EP).catch(() => 'unreadable'))
          if (v !== last) changes.push(`${Date.now() - t0} ms: ${v}`)
          last = v
          await sleep(200)
        }
      })()
      const at = (what: string) => changes.push(`${Date.now() - t0} ms: ${what}`)
      lac = await startLac('127.0.0.121')
      await hold(lac, host, 20, 5)
      const stopChurn = churn(lac, 20)
      await sleep(2000)
      // The broker leading the endpoint's partition of l2tp.events.
      const leader = await partitionLeader(c, names.events, partitionFor(EP, 12))
      at(`kill -9 kafka ${leader}`)
      await killKafka(c, leader)
      downKafka.push(leader)
      await sleep(10_000) // past the broker session timeout: the partition moves
      // The nats-server leading the lease bucket (the renewals' Raft leader).
      const natsLeader = await leaseLeaderId(c)
      at(`kill -9 nats ${natsLeader}`)
      await killNats(c, natsLeader)
      downNats.push(natsLeader)
      await sleep(DETECTION_MS + 4000) // past the detection time: a standby would have claimed by now
      const steps = await stopChurn()
      expect(steps).toBeGreaterThan(100)
      await sleep(2000)
      polling = false
      await poll
      const after = await lease.owner(EP)
      console.log(
        `cluster e2e: ${JSON.stringify({
          before,
          after,
          lost: lac.counts.lost,
          changes,
          marks: nodes.map((n) => ({
            node: n.spec.nodeId,
            marks: n.marks.map((m) => `${m.at - t0} ms: ${m.msg} ${m.epoch ?? ''} ${m.why ?? ''}`),
          })),
        })}`,
      )
      // No takeover: the same owner, the same epoch; the standby never served.
      expect(after).toEqual(before)
      expect(node2.marks.filter((m) => m.msg === 'serving endpoint')).toEqual([])
      expect(node1.marks.filter((m) => m.msg !== 'serving endpoint')).toEqual([])
      expect(serving(node1)).toBe(true)
      // No session lost (LAC view): every one the LAC did not close itself is still up.
      expect(lac.lostKeys).toEqual([])
      expect(lac.counts.recovered).toBe(0)
      // No event lost, none twice: the log, folded, holds exactly the LAC's sessions.
      const { log, mismatch } = await settle(names, EP, lac, 90_000)
      expect(mismatch).toBe(0)
      expect(log.seqGaps).toBe(0)
      expect(log.duplicates).toBe(0)
      expect(log.consistent).toBe(true)
      expect(log.owner).toBe('cl-1')
      expect(log.epochs).toEqual([before?.epoch])
    } finally {
      await lac?.stop()
      await lease.close()
    }
  }, 420_000)
})
