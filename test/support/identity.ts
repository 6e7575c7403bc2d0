// NATS identities for tests: connect as, or build the environment of a spawned program for, one
// identity. Every test that needs a node's, operator's or auditor's NATS access goes through here.
// Identities are real users of the test's nats-server (infra/identities.ts): granting one
// regenerates the server config and reloads it; node identities may serve only their endpoints.
import { loadInfraConfig } from '../../infra/config.js'
import { grant, nodeGrant } from '../../infra/identities.js'
import { nodeUser } from '../../infra/nats-auth.js'
import type { NatsConnection } from '../../registry/shell/index.js'
import { natsAs } from './brokers.js'

/** The NATS user (and so the audited issuer) of node `nodeId`. */
export const nodeIdentity = (nodeId: string): string => nodeUser(nodeId)

/**
 * Grants node `nodeId` (at least) these endpoints. Test files running at the same time may share
 * a node id, so grants add endpoints and never take any away.
 */
export const grantNode = (nodeId: string, endpointIds: readonly string[]) =>
  grant(loadInfraConfig(), nodeGrant(nodeId, endpointIds, true))

/** A connection with the rights of node `nodeId` serving `endpointIds`. */
export const natsAsNode = async (nodeId: string, endpointIds: readonly string[]): Promise<NatsConnection> => {
  await grantNode(nodeId, endpointIds)
  return natsAs(nodeUser(nodeId), `test-node-${nodeId}`)
}

/** Environment variables a spawned `l2tp-node` with this node id and these endpoints needs for NATS. */
export const nodeProcessEnv = async (
  nodeId: string,
  endpointIds: readonly string[],
): Promise<Record<string, string>> => {
  const id = await grantNode(nodeId, endpointIds)
  return { NATS_USER: id.name, NATS_PASS: id.password }
}

/** A connection as an operator (`name` is the identity commands are audited under). */
export const natsAsOperator = async (name = 'operator'): Promise<NatsConnection> => {
  await grant(loadInfraConfig(), { kind: 'operator', name })
  return natsAs(name, `test-operator-${name}`)
}

/** A connection as a read-only auditor (under a lab prefix `lab1.` when given). */
export const natsAsAuditor = (subjectPrefix?: string): Promise<NatsConnection> =>
  natsAs('auditor', 'test-auditor', subjectPrefix)

/** A connection as the registry service (serves registry queries, reads leases). */
export const natsAsRegistry = (subjectPrefix?: string): Promise<NatsConnection> =>
  natsAs('registry', 'test-registry', subjectPrefix)

/**
 * Writes the server config again from this checkout's permissions (infra/nats-auth.ts) and
 * reloads it, by granting a throwaway auditor: other checkouts sharing the dev NATS may have
 * written it from older permissions.
 */
export const refreshNatsPermissions = async (): Promise<void> => {
  await grant(loadInfraConfig(), {
    kind: 'auditor',
    name: `refresh-${Math.random().toString(36).slice(2, 10)}`,
  })
}

/** Environment variables a spawned `l2tpctl` needs to act as an operator or a read-only auditor. */
export const cliProcessEnv = async (
  role: 'operator' | 'auditor',
  name: string = role,
): Promise<Record<string, string>> => {
  const id = await grant(loadInfraConfig(), { kind: role, name })
  return { NATS_USER: id.name, NATS_PASS: id.password }
}
