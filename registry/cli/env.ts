// Where the programs find Kafka, NATS and the topic names: environment first, infra defaults.
import { topicNames } from '../../contracts/index.js'
import { kafkaBrokers, natsUrl, natsUsers } from '../../infra/config.js'

export const brokersFromEnv = (): string[] => kafkaBrokers()
export const natsFromEnv = (role: keyof typeof natsUsers) => ({
  servers: natsUrl(),
  user: process.env.NATS_USER ?? natsUsers[role].user,
  pass: process.env.NATS_PASS ?? natsUsers[role].pass,
})
/** L2TP_TOPIC_PREFIX lets a test or a lab run its own set of topics. */
export const topicsFromEnv = () => topicNames(process.env.L2TP_TOPIC_PREFIX ?? '')

/** A time on the command line: epoch milliseconds or an ISO 8601 date. */
export const parseTime = (s: string): number | null => {
  if (/^\d+$/.test(s)) return Number(s)
  const t = Date.parse(s)
  return Number.isNaN(t) ? null : t
}
