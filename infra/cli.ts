// infra/up, infra/down, infra/status: start, stop and report the dev/test brokers.
// Idempotent: up reuses brokers already answering; down stops only what infra started.

import { ensureTopics } from '../registry/shell/topics.js'
import { kafkaBrokers, loadInfraConfig, natsUrl } from './config.js'
import { kafkaAnswers, kafkaDown, kafkaPaths, kafkaUp } from './kafka.js'
import { natsAnswers, natsDown, natsPaths, natsUp } from './nats.js'

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

const main = async (cmd: string | undefined): Promise<number> => {
  const c = loadInfraConfig()
  switch (cmd) {
    case 'up': {
      const r = await up()
      console.log(`kafka ${r.kafka}: ${kafkaBrokers(c).join(',')}  log: ${kafkaPaths(c).log}`)
      console.log(`nats  ${r.nats}: ${natsUrl(c)}  log: ${natsPaths(c).log}`)
      return 0
    }
    case 'down': {
      const r = await down()
      console.log(`kafka ${r.kafka ? 'stopped' : 'was not started by infra'}`)
      console.log(`nats  ${r.nats ? 'stopped' : 'was not started by infra'}`)
      return 0
    }
    case 'status': {
      const [k, n] = await Promise.all([kafkaAnswers(c), natsAnswers(c)])
      console.log(`kafka ${k ? 'up' : 'down'}: ${kafkaBrokers(c).join(',')}  log: ${kafkaPaths(c).log}`)
      console.log(`nats  ${n ? 'up' : 'down'}: ${natsUrl(c)}  log: ${natsPaths(c).log}`)
      return k && n ? 0 : 1
    }
    default:
      console.error('usage: infra/cli.ts up|down|status')
      return 2
  }
}

if (process.argv[1]?.endsWith('cli.ts')) {
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`infra: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    },
  )
}
