// Apache Kafka (KRaft, combined broker+controller) for dev/test: one node, or 3 with --cluster.
// Jars via Maven, storage formatted once (one cluster id for all nodes), brokers started detached,
// readiness = every broker in the metadata + a transactional round trip. Shell.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import kafkajs, { Kafka, logLevel } from 'kafkajs'
import { type InfraConfig, infraDir, type KafkaNode } from './config.js'
import { alive, portOpen, readPid, run, sleep, startDetached, stopPid, tail, which } from './proc.js'

/** Files of one Kafka node; single-node keeps the historical names (kafka.log, kafka.pid, ...). */
export const kafkaNodePaths = (c: InfraConfig, n: KafkaNode) => {
  const tag = c.cluster ? `kafka-${n.id}` : 'kafka'
  return {
    storage: join(c.dataDir, tag),
    log: join(c.dataDir, `${tag}.log`),
    pid: join(c.runDir, `${tag}.pid`),
    props: join(c.runDir, `${tag}.properties`),
  }
}

const firstNode = (c: InfraConfig): KafkaNode => {
  const n = c.kafkaNodes[0]
  if (n === undefined) throw new Error('no Kafka node configured')
  return n
}

/** The first node's files (single-node: the only ones). */
export const kafkaPaths = (c: InfraConfig) => kafkaNodePaths(c, firstNode(c))

/** Resolves the broker jars from Maven Central into infra/kafka/lib (pom.xml pins the version). */
export const ensureKafkaJars = (c: InfraConfig): void => {
  if (existsSync(c.kafkaLibDir) && readdirSync(c.kafkaLibDir).some((f) => f.startsWith('kafka_2.13-'))) return
  if (!which('mvn'))
    throw new Error('Maven (mvn) is needed to resolve the Kafka jars: apt-get install -y maven')
  console.log('infra: resolving Kafka jars with Maven (infra/kafka/pom.xml)…')
  run('mvn', ['-q', '-B', 'dependency:copy-dependencies'], join(infraDir, 'kafka'))
}

/** Replication of the topics and internal topics: 1 on one node; 3 / min ISR 2 on the cluster. */
const replication = (c: InfraConfig) =>
  c.cluster ? { factor: c.kafkaNodes.length, minIsr: 2 } : { factor: 1, minIsr: 1 }

/** Cut listeners of the cluster (drills): how many, and their ports. */
export const CUT_LISTENERS = 2

/**
 * Listener `CUT<k>` of node `n`: the broker listens on `listen` and advertises `proxy`, where a
 * drill's per-process proxy forwards to it. A client bootstrapped through the proxy ports is told
 * only proxy addresses, so cutting the proxy cuts that one client from every broker
 * (docs/drills.md). Nothing listens on the proxy ports outside a drill.
 */
export const cutListener = (c: InfraConfig, n: KafkaNode, k: number) => ({
  name: `CUT${k}`,
  listen: c.kafkaPort + 120 + 10 * (k - 1) + n.id - 1,
  proxy: c.kafkaPort + 220 + 10 * (k - 1) + n.id - 1,
})

const serverProperties = (c: InfraConfig, n: KafkaNode): string => {
  const r = replication(c)
  const voters = c.kafkaNodes.map((v) => `${v.id}@127.0.0.1:${v.controllerPort}`).join(',')
  const cuts = c.cluster ? Array.from({ length: CUT_LISTENERS }, (_, i) => cutListener(c, n, i + 1)) : []
  return [
    'process.roles=broker,controller',
    `node.id=${n.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=${[`PLAINTEXT://127.0.0.1:${n.port}`, `CONTROLLER://127.0.0.1:${n.controllerPort}`, ...cuts.map((x) => `${x.name}://127.0.0.1:${x.listen}`)].join(',')}`,
    `advertised.listeners=${[`PLAINTEXT://127.0.0.1:${n.port}`, ...cuts.map((x) => `${x.name}://127.0.0.1:${x.proxy}`)].join(',')}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `listener.security.protocol.map=${['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...cuts.map((x) => `${x.name}:PLAINTEXT`)].join(',')}`,
    `log.dirs=${kafkaNodePaths(c, n).storage}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    // Topics created without a replication factor (registry/shell/topics.ts) get these.
    `offsets.topic.replication.factor=${r.factor}`,
    'offsets.topic.num.partitions=12',
    `transaction.state.log.replication.factor=${r.factor}`,
    `transaction.state.log.min.isr=${r.minIsr}`,
    'transaction.state.log.num.partitions=12',
    `default.replication.factor=${r.factor}`,
    `min.insync.replicas=${r.minIsr}`,
    'unclean.leader.election.enable=false',
    'group.initial.rebalance.delay.ms=0',
    `share.coordinator.state.topic.replication.factor=${r.factor}`,
    `share.coordinator.state.topic.min.isr=${r.minIsr}`,
    'log.retention.hours=168',
    `log.segment.bytes=${c.cluster ? 67108864 : 268435456}`,
    // Sized for a 2-core machine running three of these: few threads each.
    ...(c.cluster
      ? [
          'num.network.threads=2',
          'num.io.threads=2',
          'num.replica.fetchers=1',
          'background.threads=2',
          'log.cleaner.threads=1',
          // A killed broker is fenced (its partitions move) after this, not the 9 s default.
          'broker.session.timeout.ms=6000',
          'broker.heartbeat.interval.ms=1000',
        ]
      : []),
    '',
  ].join('\n')
}

const javaArgs = (c: InfraConfig, n: KafkaNode, main: string, args: string[]): string[] => [
  // One node: 512 MiB-1 GiB. Three on a 2-core, 24 GiB machine: 256 MiB-768 MiB each, and
  // fewer GC threads so the three JVMs do not fight over the two cores.
  ...(c.cluster
    ? ['-Xms256m', '-Xmx768m', '-XX:ParallelGCThreads=1', '-XX:ConcGCThreads=1']
    : ['-Xms512m', '-Xmx1g']),
  '-XX:+UseG1GC',
  '-Djava.awt.headless=true',
  `-Dkafka.logs.file=${kafkaNodePaths(c, n).log}`,
  `-Dlog4j2.configurationFile=${join(infraDir, 'kafka', 'log4j2.properties')}`,
  '-cp',
  `${c.kafkaLibDir}/*`,
  main,
  ...args,
]

/** One cluster id for every node of this data dir (kept in <data>/kafka-cluster-id). */
const clusterId = (c: InfraConfig): string => {
  const file = join(c.dataDir, 'kafka-cluster-id')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  const uuid = spawnSync('java', javaArgs(c, firstNode(c), 'kafka.tools.StorageTool', ['random-uuid']), {
    encoding: 'utf8',
  })
  const id = uuid.stdout.trim().split('\n').pop() ?? ''
  if (uuid.status !== 0 || id.length < 20) throw new Error(`kafka random-uuid failed: ${uuid.stderr}`)
  mkdirSync(c.dataDir, { recursive: true })
  writeFileSync(file, `${id}\n`)
  return id
}

const formatStorage = (c: InfraConfig, n: KafkaNode): void => {
  const p = kafkaNodePaths(c, n)
  if (existsSync(join(p.storage, 'meta.properties'))) return
  mkdirSync(p.storage, { recursive: true })
  const r = spawnSync(
    'java',
    javaArgs(c, n, 'kafka.tools.StorageTool', ['format', '-t', clusterId(c), '-c', p.props]),
    { encoding: 'utf8' },
  )
  if (r.status !== 0) throw new Error(`kafka storage format failed: ${r.stdout}\n${r.stderr}`)
}

const client = (c: InfraConfig, clientId: string, retries?: number) =>
  new Kafka({
    clientId,
    brokers: c.kafkaNodes.map((n) => `127.0.0.1:${n.port}`),
    logLevel: logLevel.NOTHING,
    ...(retries === undefined ? {} : { retry: { retries } }),
  })

/** The node ids in the cluster's metadata (empty when no broker answers). */
export const kafkaBrokerIds = async (c: InfraConfig): Promise<number[]> => {
  const open = await Promise.all(c.kafkaNodes.map((n) => portOpen(n.port)))
  if (!open.some((o) => o)) return []
  const a = client(c, 'l2tp-infra', 0).admin()
  try {
    await a.connect()
    const d = await a.describeCluster()
    return d.controller === null ? [] : d.brokers.map((b) => b.nodeId).sort((x, y) => x - y)
  } catch {
    return []
  } finally {
    await a.disconnect().catch(() => undefined)
  }
}

/** True when every configured broker is in the metadata and a controller is elected. */
export const kafkaAnswers = async (c: InfraConfig): Promise<boolean> => {
  const ids = await kafkaBrokerIds(c)
  return c.kafkaNodes.every((n) => ids.includes(n.id))
}

/** Produces one record in a transaction and consumes it back (read committed). */
export const kafkaRoundTrip = async (c: InfraConfig): Promise<void> => {
  const kafka = client(c, 'l2tp-infra-probe')
  const topic = 'l2tp.infra.probe'
  const a = kafka.admin()
  await a.connect()
  await a.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }).catch(() => false)
  await a.disconnect()
  const token = `probe-${process.pid}-${Date.now()}`
  const producer = kafka.producer({
    transactionalId: 'l2tp-infra-probe',
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  const tx = await producer.transaction()
  await tx.send({ topic, messages: [{ key: 'probe', value: token }] })
  await tx.commit()
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `l2tp-infra-probe-${token}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value?.toString() === token) resolve()
      },
    })
  })
  // A cleared timer: a pending one would keep the process (the test runner) alive for a minute.
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('kafka round trip: the produced probe record was not consumed within 60 s')),
      60_000,
    )
  })
  try {
    await Promise.race([seen, timeout])
  } finally {
    clearTimeout(timer)
    await consumer.disconnect()
  }
}

export type StartResult = 'started' | 'reused'

/** The pid of a node infra started, when it still runs. */
export const kafkaNodePid = (c: InfraConfig, n: KafkaNode): number | null => {
  const pid = readPid(kafkaNodePaths(c, n).pid)
  return pid !== null && alive(pid) ? pid : null
}

/** Starts one node (its port must be free); does not wait for it. Returns its pid. */
export const kafkaStartNode = async (c: InfraConfig, n: KafkaNode): Promise<number> => {
  const p = kafkaNodePaths(c, n)
  const old = kafkaNodePid(c, n)
  if (old !== null) await stopPid(old, p.pid) // half-started leftover
  if (await portOpen(n.port)) throw new Error(`port ${n.port} is taken by something that is not our Kafka`)
  mkdirSync(c.runDir, { recursive: true })
  writeFileSync(p.props, serverProperties(c, n))
  formatStorage(c, n)
  return startDetached('java', javaArgs(c, n, 'kafka.Kafka', [p.props]), p.log, p.pid)
}

const logTails = (c: InfraConfig, nodes: readonly KafkaNode[]): string =>
  nodes.map((n) => `${kafkaNodePaths(c, n).log}:\n${tail(kafkaNodePaths(c, n).log, 20)}`).join('\n')

export const kafkaUp = async (c: InfraConfig): Promise<StartResult> => {
  const ids = await kafkaBrokerIds(c)
  const missing = c.kafkaNodes.filter((n) => !ids.includes(n.id))
  if (missing.length === 0) return 'reused'
  if (!which('java'))
    throw new Error('java is needed to run Kafka: apt-get install -y openjdk-17-jre-headless')
  ensureKafkaJars(c)
  const started = new Map<KafkaNode, number>()
  for (const n of missing) started.set(n, await kafkaStartNode(c, n))
  const stopStarted = async () => {
    for (const [n, pid] of started) await stopPid(pid, kafkaNodePaths(c, n).pid)
  }
  const until = Date.now() + 180_000
  while (Date.now() < until) {
    if ([...started.values()].some((pid) => !alive(pid))) break
    if (await kafkaAnswers(c)) {
      try {
        await kafkaRoundTrip(c)
        return 'started'
      } catch (e) {
        await stopStarted()
        throw new Error(
          `kafka answered metadata but the round trip failed: ${String(e)}\n${logTails(c, missing)}`,
        )
      }
    }
    await sleep(500)
  }
  await stopStarted()
  throw new Error(
    `kafka did not come up on ${missing.map((n) => `127.0.0.1:${n.port}`).join(', ')}; last log lines:\n${logTails(c, missing)}`,
  )
}

/** Stops every node infra started (SIGTERM, then SIGKILL after the grace). */
export const kafkaDown = async (c: InfraConfig): Promise<boolean> => {
  const pids = c.kafkaNodes.map((n) => [n, readPid(kafkaNodePaths(c, n).pid)] as const)
  if (pids.every(([, pid]) => pid === null)) return false
  await Promise.all(
    pids.map(([n, pid]) =>
      pid === null ? Promise.resolve() : stopPid(pid, kafkaNodePaths(c, n).pid, 30_000),
    ),
  )
  return true
}

/** Replicas, in-sync replicas (fewest over the partitions) and min.insync.replicas of a topic. */
export const topicReplication = async (
  c: InfraConfig,
  topic: string,
): Promise<{ replicas: number; minInSync: number; minIsr: string } | null> => {
  const a = client(c, 'l2tp-infra', 0).admin()
  try {
    await a.connect()
    const m = await a.fetchTopicMetadata({ topics: [topic] })
    const parts = m.topics[0]?.partitions ?? []
    const d = await a.describeConfigs({
      resources: [
        { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] },
      ],
      includeSynonyms: false,
    })
    return {
      replicas: Math.min(...parts.map((p) => p.replicas.length)),
      minInSync: Math.min(...parts.map((p) => p.isr.length)),
      minIsr: d.resources[0]?.configEntries[0]?.configValue ?? '?',
    }
  } catch {
    return null
  } finally {
    await a.disconnect().catch(() => undefined)
  }
}
