// The clustered infra (infra/up --cluster) for one test file or one drill: selected through
// L2TP_CLUSTER=1 in this process (so spawned programs inherit it), started once, stopped at the
// end when this process started it. Broker and server faults: kill -9, SIGSTOP, restart, leaders.

import { LEASE_BUCKET } from '../../contracts/subjects.js'
import { type InfraConfig, type KafkaNode, loadInfraConfig, type NatsServer } from '../../infra/config.js'
import { natsServerPaths, serverPid } from '../../infra/identities.js'
import {
  kafkaBrokerIds,
  kafkaDown,
  kafkaNodePaths,
  kafkaNodePid,
  kafkaStartNode,
  kafkaUp,
} from '../../infra/kafka.js'
import { natsAdmin, natsDown, natsServerAnswers, natsStartServer, natsUp } from '../../infra/nats.js'
import { sleep } from '../../infra/proc.js'
import { makeKafka } from '../../registry/shell/kafka-client.js'
import { ensureTopics } from '../../registry/shell/topics.js'

const CLIENT_ENV = ['KAFKA_BROKERS', 'NATS_URL', 'L2TP_CLUSTER'] as const

export interface Cluster {
  readonly c: InfraConfig
  readonly brokers: string[]
  /** Whether this process started any of it (then `stop` stops it; nothing needs restoring). */
  readonly startedHere: boolean
  /** Stops what this process started and restores the environment. */
  readonly stop: () => Promise<void>
}

/**
 * Selects the cluster for this process (L2TP_CLUSTER=1; KAFKA_BROKERS and NATS_URL cleared so
 * the defaults name every broker and server) and brings it up, reusing one that answers.
 */
export const useCluster = async (): Promise<Cluster> => {
  const saved = Object.fromEntries(CLIENT_ENV.map((k) => [k, process.env[k]]))
  for (const k of CLIENT_ENV) delete process.env[k]
  process.env.L2TP_CLUSTER = '1'
  const c = loadInfraConfig()
  const [kafka, nats] = await Promise.all([kafkaUp(c), natsUp(c)])
  const brokers = c.kafkaNodes.map((n) => `127.0.0.1:${n.port}`)
  await ensureTopics({ brokers })
  console.log(`[cluster] kafka ${kafka}, nats ${nats} (data ${c.dataDir})`)
  return {
    c,
    brokers,
    startedHere: kafka === 'started' || nats === 'started',
    stop: async () => {
      if (process.env.L2TP_KEEP_BROKERS !== '1') {
        if (kafka === 'started') await kafkaDown(c)
        if (nats === 'started') await natsDown(c)
      }
      for (const k of CLIENT_ENV) {
        const v = saved[k]
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    },
  }
}

const kafkaNode = (c: InfraConfig, id: number): KafkaNode => {
  const n = c.kafkaNodes.find((x) => x.id === id)
  if (n === undefined) throw new Error(`no Kafka node ${id}`)
  return n
}

const natsServer = (c: InfraConfig, id: number): NatsServer => {
  const s = c.natsServers.find((x) => x.id === id)
  if (s === undefined) throw new Error(`no nats-server ${id}`)
  return s
}

/** kill -9 of Kafka node `id` (one infra started). Returns when the process is gone. */
export const killKafka = async (c: InfraConfig, id: number): Promise<void> => {
  const pid = kafkaNodePid(c, kafkaNode(c, id))
  if (pid === null) throw new Error(`Kafka node ${id} is not running`)
  process.kill(pid, 'SIGKILL')
  while (kafkaNodePid(c, kafkaNode(c, id)) !== null) await sleep(20)
}

/** Starts Kafka node `id` again; resolves once it is back in the metadata and fully in sync. */
export const restartKafka = async (c: InfraConfig, id: number, timeoutMs = 180_000): Promise<void> => {
  await kafkaStartNode(c, kafkaNode(c, id))
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if ((await kafkaBrokerIds(c)).includes(id) && (await underReplicated(c)) === 0) return
    await sleep(500)
  }
  throw new Error(`Kafka node ${id} did not rejoin in sync; log: ${kafkaNodePaths(c, kafkaNode(c, id)).log}`)
}

/** Partitions (every topic) with fewer in-sync replicas than replicas. */
export const underReplicated = async (c: InfraConfig): Promise<number> => {
  const a = makeKafka({
    brokers: c.kafkaNodes.map((n) => `127.0.0.1:${n.port}`),
    clientId: 'cluster-probe',
  }).admin()
  try {
    await a.connect()
    const m = await a.fetchTopicMetadata()
    return m.topics.flatMap((t) => t.partitions).filter((p) => p.isr.length < p.replicas.length).length
  } catch {
    return Number.POSITIVE_INFINITY
  } finally {
    await a.disconnect().catch(() => undefined)
  }
}

/** The broker leading `partition` of `topic`. */
export const partitionLeader = async (c: InfraConfig, topic: string, partition: number): Promise<number> => {
  const a = makeKafka({
    brokers: c.kafkaNodes.map((n) => `127.0.0.1:${n.port}`),
    clientId: 'cluster-probe',
  }).admin()
  await a.connect()
  try {
    const m = await a.fetchTopicMetadata({ topics: [topic] })
    const p = m.topics[0]?.partitions.find((x) => x.partitionId === partition)
    if (p === undefined) throw new Error(`no partition ${partition} of ${topic}`)
    return p.leader
  } finally {
    await a.disconnect()
  }
}

/** Java's String.hashCode (UTF-16 code units), as Kafka places a transactional id. */
const javaHash = (s: string): number => {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h
}

/**
 * The transaction coordinator of `transactionalId`: the leader of its __transaction_state
 * partition, `Utils.abs(hashCode) % partitions` (Kafka's TransactionStateManager.partitionFor).
 */
export const transactionCoordinator = async (c: InfraConfig, transactionalId: string): Promise<number> => {
  const a = makeKafka({
    brokers: c.kafkaNodes.map((n) => `127.0.0.1:${n.port}`),
    clientId: 'cluster-probe',
  }).admin()
  await a.connect()
  try {
    const m = await a.fetchTopicMetadata({ topics: ['__transaction_state'] })
    const parts = m.topics[0]?.partitions ?? []
    const id = (javaHash(transactionalId) & 0x7fffffff) % parts.length
    const p = parts.find((x) => x.partitionId === id)
    if (p === undefined) throw new Error('__transaction_state has no partitions')
    return p.leader
  } finally {
    await a.disconnect()
  }
}

/** kill -9 (or another signal) of nats-server `id`. */
export const signalNats = (c: InfraConfig, id: number, signal: NodeJS.Signals): void => {
  const pid = serverPid(c, natsServer(c, id))
  if (pid === null) throw new Error(`nats-server ${id} is not running`)
  process.kill(pid, signal)
}

export const killNats = async (c: InfraConfig, id: number): Promise<void> => {
  signalNats(c, id, 'SIGKILL')
  while (serverPid(c, natsServer(c, id)) !== null) await sleep(20)
}

/** Starts nats-server `id` again; resolves once it answers and the lease stream is current on it. */
export const restartNats = async (c: InfraConfig, id: number, timeoutMs = 60_000): Promise<void> => {
  const s = natsServer(c, id)
  await natsStartServer(c, s)
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await natsServerAnswers(c, s)) {
      const info = await leaseStream(c)
      if (info !== null && (info.leader === s.name || info.current.includes(s.name))) return
    }
    await sleep(250)
  }
  throw new Error(`nats-server ${id} did not rejoin; log: ${natsServerPaths(c, s).log}`)
}

/** The lease bucket's stream: its leader and the replicas that are current. */
export const leaseStream = async (c: InfraConfig): Promise<{ leader: string; current: string[] } | null> => {
  const nc = await natsAdmin(c)
  if (nc === null) return null
  try {
    const jsm = await nc.jetstreamManager({ timeout: 3000 })
    const si = await jsm.streams.info(`KV_${LEASE_BUCKET}`)
    const leader = si.cluster?.leader
    if (leader === undefined) return null
    return { leader, current: (si.cluster?.replicas ?? []).filter((r) => r.current).map((r) => r.name) }
  } catch {
    return null
  } finally {
    await nc.close()
  }
}

/** The id of the nats-server leading the lease bucket's stream. */
export const leaseLeaderId = async (c: InfraConfig): Promise<number> => {
  const info = await leaseStream(c)
  const s = c.natsServers.find((x) => x.name === info?.leader)
  if (s === undefined) throw new Error('the lease bucket has no leader')
  return s.id
}
