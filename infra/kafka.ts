// Apache Kafka (KRaft, combined broker+controller, one node) for dev/test: jars via Maven,
// storage formatted once, broker started detached, readiness = metadata + transactional round trip.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { type InfraConfig, infraDir } from './config.js'
import { alive, portOpen, readPid, run, sleep, startDetached, stopPid, tail, which } from './proc.js'

export const kafkaPaths = (c: InfraConfig) => ({
  storage: join(c.dataDir, 'kafka'),
  log: join(c.dataDir, 'kafka.log'),
  pid: join(c.runDir, 'kafka.pid'),
  props: join(c.runDir, 'kafka.properties'),
})

/** Resolves the broker jars from Maven Central into infra/kafka/lib (pom.xml pins the version). */
export const ensureKafkaJars = (c: InfraConfig): void => {
  if (existsSync(c.kafkaLibDir) && readdirSync(c.kafkaLibDir).some((f) => f.startsWith('kafka_2.13-'))) return
  if (!which('mvn'))
    throw new Error('Maven (mvn) is needed to resolve the Kafka jars: apt-get install -y maven')
  console.log('infra: resolving Kafka jars with Maven (infra/kafka/pom.xml)…')
  run('mvn', ['-q', '-B', 'dependency:copy-dependencies'], join(infraDir, 'kafka'))
}

const serverProperties = (c: InfraConfig): string =>
  [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${c.kafkaControllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${c.kafkaPort},CONTROLLER://127.0.0.1:${c.kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${c.kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${kafkaPaths(c).storage}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    // One node: internal topics and transactions must work with a single replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=12',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'group.initial.rebalance.delay.ms=0',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'log.retention.hours=168',
    'log.segment.bytes=268435456',
    '',
  ].join('\n')

const javaArgs = (c: InfraConfig, main: string, args: string[]): string[] => [
  '-Xms512m',
  '-Xmx1g',
  '-XX:+UseG1GC',
  '-Djava.awt.headless=true',
  `-Dkafka.logs.file=${kafkaPaths(c).log}`,
  `-Dlog4j2.configurationFile=${join(infraDir, 'kafka', 'log4j2.properties')}`,
  '-cp',
  `${c.kafkaLibDir}/*`,
  main,
  ...args,
]

const formatStorage = (c: InfraConfig): void => {
  const p = kafkaPaths(c)
  if (existsSync(join(p.storage, 'meta.properties'))) return
  mkdirSync(p.storage, { recursive: true })
  const uuid = spawnSync('java', javaArgs(c, 'kafka.tools.StorageTool', ['random-uuid']), {
    encoding: 'utf8',
  })
  const clusterId = uuid.stdout.trim().split('\n').pop() ?? ''
  if (uuid.status !== 0 || clusterId.length < 20) throw new Error(`kafka random-uuid failed: ${uuid.stderr}`)
  const r = spawnSync(
    'java',
    javaArgs(c, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', p.props]),
    {
      encoding: 'utf8',
    },
  )
  if (r.status !== 0) throw new Error(`kafka storage format failed: ${r.stdout}\n${r.stderr}`)
}

const admin = (c: InfraConfig) =>
  new Kafka({
    clientId: 'l2tp-infra',
    brokers: [`127.0.0.1:${c.kafkaPort}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin()

/** True when a Kafka broker answers metadata on the configured port. */
export const kafkaAnswers = async (c: InfraConfig): Promise<boolean> => {
  if (!(await portOpen(c.kafkaPort))) return false
  const a = admin(c)
  try {
    await a.connect()
    const d = await a.describeCluster()
    return d.brokers.length > 0 && d.controller !== null
  } catch {
    return false
  } finally {
    await a.disconnect().catch(() => undefined)
  }
}

/** Produces one record in a transaction and consumes it back (read committed). */
export const kafkaRoundTrip = async (c: InfraConfig): Promise<void> => {
  const kafka = new Kafka({
    clientId: 'l2tp-infra-probe',
    brokers: [`127.0.0.1:${c.kafkaPort}`],
    logLevel: logLevel.NOTHING,
  })
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

export const kafkaUp = async (c: InfraConfig): Promise<StartResult> => {
  const p = kafkaPaths(c)
  if (await kafkaAnswers(c)) return 'reused'
  const old = readPid(p.pid)
  if (old !== null && alive(old)) await stopPid(old, p.pid) // half-started leftover
  if (await portOpen(c.kafkaPort))
    throw new Error(`port ${c.kafkaPort} is taken by something that is not Kafka`)
  if (!which('java'))
    throw new Error('java is needed to run Kafka: apt-get install -y openjdk-17-jre-headless')
  ensureKafkaJars(c)
  mkdirSync(c.runDir, { recursive: true })
  writeFileSync(p.props, serverProperties(c))
  formatStorage(c)
  const pid = startDetached('java', javaArgs(c, 'kafka.Kafka', [p.props]), p.log, p.pid)
  const until = Date.now() + 120_000
  while (Date.now() < until) {
    if (!alive(pid)) break
    if (await kafkaAnswers(c)) {
      try {
        await kafkaRoundTrip(c)
        return 'started'
      } catch (e) {
        await stopPid(pid, p.pid)
        throw new Error(`kafka answered metadata but the round trip failed: ${String(e)}\n${tail(p.log)}`)
      }
    }
    await sleep(500)
  }
  await stopPid(pid, p.pid)
  throw new Error(
    `kafka did not come up on 127.0.0.1:${c.kafkaPort}; last log lines of ${p.log}:\n${tail(p.log)}`,
  )
}

export const kafkaDown = async (c: InfraConfig): Promise<boolean> => {
  const p = kafkaPaths(c)
  const pid = readPid(p.pid)
  if (pid === null) return false
  await stopPid(pid, p.pid, 30_000)
  return true
}
