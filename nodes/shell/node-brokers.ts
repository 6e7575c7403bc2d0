// The brokers of a node (composition root, node-root.ts): Kafka for publishing, NATS for control
// and, in --ha mode, the lease bucket, each checked at start so that a missing broker, bucket or
// grant is one line now, not a silent standby later; and the release request a takeover sends
// to the owner first. Shell.
import { type EndpointId, endpointSubjects, issuedSubject, LEASE_BUCKET } from '../../contracts/index.js'
import { brokersFromEnv, kafkaSecurityFromEnv, natsFromEnv, topicsFromEnv } from '../../registry/cli/env.js'
import {
  connectNats,
  describeInfraError,
  type EventLogDeps,
  ensureTopics,
  type KvBucket,
  makeKafka,
  type NatsConnection,
  openKv,
  request,
} from '../../registry/shell/index.js'
import { StartFailure, step } from '../../registry/shell/start-errors.js'
import type { NodeConfig } from '../cli/config.js'

/** What connecting needs of the node's settings. */
export interface BrokerSettings {
  readonly config: NodeConfig
  readonly publish: boolean
  readonly control: boolean
  /** --ha: null in plain mode. */
  readonly ha: { readonly hook: string | null } | null
}

export interface Brokers {
  readonly deps: EventLogDeps | null
  readonly nc: NatsConnection | null
  /** The NATS user this node connects as: its identity, the issuer of requests it sends. */
  readonly natsUser: string | null
  readonly kv: KvBucket | null
}

export const connectBrokers = async (s: BrokerSettings): Promise<Brokers> => {
  const brokers = brokersFromEnv()
  const clientId = `l2tp-node-${s.config.nodeId}`
  const security = kafkaSecurityFromEnv()
  const deps = s.publish
    ? { kafka: makeKafka({ brokers, clientId, ...security }), names: topicsFromEnv() }
    : null
  if (deps !== null)
    await step(`Kafka (${brokers.join(',')}) unreachable`, () =>
      ensureTopics({ brokers, names: deps.names, ...security }),
    )
  if (!s.control && s.ha === null) return { deps, nc: null, natsUser: null, kv: null }
  const nats = natsFromEnv('node', s.config.nodeId)
  const nc = await connectNats({ ...nats, name: clientId })()
  if (nc._tag === 'Left') throw new StartFailure(`NATS (${nats.servers}) unreachable: ${nc.left.detail}`)
  if (s.ha === null) return { deps, nc: nc.right, natsUser: nats.user, kv: null }
  const kv = await openKv(nc.right, LEASE_BUCKET)()
  if (kv._tag === 'Left')
    throw new StartFailure(`lease bucket ${LEASE_BUCKET}: ${describeInfraError(kv.left)}`)
  // Binding asks nothing of the server: read one of our keys to find a missing bucket (infra/up
  // creates it) or a missing grant (infra/identity node --config) now, not as a silent standby.
  const probe = await kv.right.get(s.config.endpoints[0]?.id ?? '-')()
  if (probe._tag === 'Left')
    throw new StartFailure(
      `lease bucket ${LEASE_BUCKET} (as ${nats.user}): ${describeInfraError(probe.left)}`,
    )
  return { deps, nc: nc.right, natsUser: nats.user, kv: kv.right }
}

/**
 * Asks the owner to release (a planned switchover); an owner silent for a second is claimed from.
 * The release is this node's own request, issued under its identity; the takeover itself is
 * audited by the new owner with the operator as issuer.
 */
export const askRelease = async (nc: NatsConnection | null, user: string | null, endpointId: EndpointId) => {
  if (nc === null || user === null) return false
  const r = await request(
    nc,
    issuedSubject(endpointSubjects(endpointId).release, user),
    { type: 'ReleaseEndpoint', v: 1, endpointId },
    1000,
  )()
  return (
    r._tag === 'Right' &&
    typeof r.right === 'object' &&
    r.right !== null &&
    'ok' in r.right &&
    r.right.ok === true
  )
}
