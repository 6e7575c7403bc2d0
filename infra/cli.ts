// infra/up, infra/down, infra/status: start, stop and report the dev/test brokers.
// Idempotent: up reuses brokers already answering; down stops only what infra started.
// `--cluster` (or L2TP_CLUSTER=1): 3 Kafka brokers and 3 nats-servers instead of one each.

import { topicNames } from '../contracts/index.js'
import { ensureTopics } from '../registry/shell/topics.js'
import { kafkaBrokers, loadInfraConfig, natsUrl } from './config.js'
import { natsServerPaths } from './identities.js'
import { kafkaBrokerIds, kafkaDown, kafkaNodePaths, kafkaUp, topicReplication } from './kafka.js'
import { leaseBucketInfo, natsAnswers, natsDown, natsServerAnswers, natsUp } from './nats.js'

export interface UpResult {
  readonly kafka: 'started' | 'reused'
  readonly nats: 'started' | 'reused'
}

export const up = async (): Promise<UpResult> => {
  const c = loadInfraConfig()
  const [kafka, nats] = await Promise.all([kafkaUp(c), natsUp(c)])
  await ensureTopics({ brokers: kafkaBrokers(c) })
  return { kafka, nats }
}

export const down = async (which: { kafka: boolean; nats: boolean } = { kafka: true, nats: true }) => {
  const c = loadInfraConfig()
  const [kafka, nats] = await Promise.all([
    which.kafka ? kafkaDown(c) : Promise.resolve(false),
    which.nats ? natsDown(c) : Promise.resolve(false),
  ])
  return { kafka, nats }
}

const status = async (): Promise<number> => {
  const c = loadInfraConfig()
  const ids = await kafkaBrokerIds(c)
  for (const n of c.kafkaNodes)
    console.log(
      `kafka ${ids.includes(n.id) ? 'up  ' : 'down'} node ${n.id}: 127.0.0.1:${n.port}  log: ${kafkaNodePaths(c, n).log}`,
    )
  const events = ids.length === 0 ? null : await topicReplication(c, topicNames().events)
  if (events !== null)
    console.log(
      `topic ${topicNames().events}: replication ${events.replicas}, in sync at least ${events.minInSync}, min.insync.replicas ${events.minIsr}`,
    )
  const nats = await Promise.all(c.natsServers.map((s) => natsServerAnswers(c, s)))
  for (const [i, s] of c.natsServers.entries())
    console.log(
      `nats  ${nats[i] === true ? 'up  ' : 'down'} ${s.name}: nats://127.0.0.1:${s.port}  log: ${natsServerPaths(c, s).log}`,
    )
  const lease = await leaseBucketInfo(c)
  if (lease !== null)
    console.log(
      `lease bucket: ${lease.replicas} replica(s)${lease.leader === null ? '' : `, leader ${lease.leader}, current ${lease.current.join(',') || '-'}`}`,
    )
  console.log(`clients: KAFKA_BROKERS=${kafkaBrokers(c).join(',')} NATS_URL=${natsUrl(c)}`)
  const allKafka = c.kafkaNodes.every((n) => ids.includes(n.id))
  return allKafka && (await natsAnswers(c)) ? 0 : 1
}

const main = async (args: readonly string[]): Promise<number> => {
  const cmd = args[0]
  const rest = args.slice(1)
  if (rest.some((a) => a !== '--cluster')) {
    console.error('usage: infra/up|down|status [--cluster]')
    return 2
  }
  if (rest.includes('--cluster')) process.env.L2TP_CLUSTER = '1'
  const c = loadInfraConfig()
  switch (cmd) {
    case 'up': {
      const r = await up()
      console.log(`kafka ${r.kafka}: ${kafkaBrokers(c).join(',')}  logs: ${c.dataDir}/kafka*.log`)
      console.log(`nats  ${r.nats}: ${natsUrl(c)}  logs: ${c.dataDir}/nats*.log`)
      if (c.cluster) console.log(`clients: export L2TP_CLUSTER=1 (or KAFKA_BROKERS and NATS_URL as above)`)
      return 0
    }
    case 'down': {
      const r = await down()
      console.log(`kafka ${r.kafka ? 'stopped' : 'was not started by infra'}`)
      console.log(`nats  ${r.nats ? 'stopped' : 'was not started by infra'}`)
      return 0
    }
    case 'status':
      return status()
    default:
      console.error('usage: infra/cli.ts up|down|status [--cluster]')
      return 2
  }
}

if (process.argv[1]?.endsWith('cli.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`infra: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    },
  )
}
