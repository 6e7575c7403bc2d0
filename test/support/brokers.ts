// Test helpers for the real brokers started by test/global-setup.ts: clients, fresh topics.
import { randomUUID } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { type TopicNames, topicNames } from '../../contracts/index.js'
import { kafkaBrokers, loadInfraConfig, natsUrl } from '../../infra/config.js'
import { storedIdentity } from '../../infra/identities.js'
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

/**
 * A connection as a stored identity (infra's store under the data dir): `registry`, `operator`,
 * `auditor` or one granted by test/support/identity.ts. Nodes: natsAsNode there.
 */
export const natsAs = async (
  identity: 'registry' | 'operator' | 'auditor' | (string & {}),
  name = `test-${identity}`,
  /** A lab prefix (`lab1.`): the connection's l2tp subjects are apart from other test runs'. */
  subjectPrefix?: string,
): Promise<NatsConnection> => {
  const id = storedIdentity(loadInfraConfig(), identity)
  if (id === null) throw new Error(`no identity '${identity}' in the store (infra/up; grant it first)`)
  const r = await connectNats({
    servers: natsUrl(),
    user: id.name,
    pass: id.password,
    name,
    ...(subjectPrefix === undefined ? {} : { subjectPrefix }),
  })()
  if (E.isLeft(r)) throw new Error(r.left.detail)
  return r.right
}

export const rightOrThrow = <A>(r: E.Either<{ readonly _tag: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(`unexpected Left: ${JSON.stringify(r.left)}`)
  return r.right
}
