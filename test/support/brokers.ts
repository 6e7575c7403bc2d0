// Test helpers for the real brokers started by test/global-setup.ts: clients, fresh topics.
import { randomUUID } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { type TopicNames, topicNames } from '../../contracts/index.js'
import { kafkaBrokers, type NatsRole, natsUrl, natsUsers } from '../../infra/config.js'
import {
  connectNats,
  type EventLogDeps,
  ensureTopics,
  makeKafka,
  type NatsConnection,
} from '../../registry/shell/index.js'

/** Topics of their own for one test file: `t<random>.l2tp.events` and friends. */
export const freshTopics = async (partitions = 12): Promise<TopicNames> => {
  const names = topicNames(`t${randomUUID().slice(0, 8)}.`)
  await ensureTopics({ brokers: kafkaBrokers(), names, eventPartitions: partitions })
  return names
}

export const eventLogDeps = (names: TopicNames, clientId = 'l2tp-test'): EventLogDeps => ({
  kafka: makeKafka({ brokers: kafkaBrokers(), clientId }),
  names,
})

export const natsAs = async (role: NatsRole, name = `test-${role}`): Promise<NatsConnection> => {
  const r = await connectNats({ servers: natsUrl(), ...natsUsers[role], name })()
  if (E.isLeft(r)) throw new Error(r.left.detail)
  return r.right
}

export const rightOrThrow = <A>(r: E.Either<{ readonly _tag: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(`unexpected Left: ${JSON.stringify(r.left)}`)
  return r.right
}
