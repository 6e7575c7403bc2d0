// NATS subject names (DESIGN.md §6). Tokens are EndpointId/NodeId, which never contain '.', '*', '>'.
import type { EndpointId, NodeId } from './ids.js'

export const SERVICE_NODE = 'l2tp-node'
export const SERVICE_REGISTRY = 'l2tp-registry'
/**
 * Metadata of every l2tp-node service instance (services API INFO): the node it belongs to and,
 * for an endpoint's commands, the endpoint; `l2tpctl nodes` groups the instances by node with it.
 */
export const nodeServiceMetadata = (nodeId: string, endpointId?: string): Record<string, string> =>
  endpointId === undefined ? { nodeId } : { nodeId, endpointId }
/** JetStream KV bucket of endpoint ownership leases (DESIGN.md §5). */
export const LEASE_BUCKET = 'l2tp_endpoints'

/**
 * The subject of a state-changing request sent by `user`: the base subject plus the sender's
 * name as the last token. The server lets each user publish only subjects ending in its own
 * name, so the token is the authenticated issuer (docs/decisions.md, "issuer from the subject").
 */
export const issuedSubject = (subject: string, user: string): string => `${subject}.${user}`

export const nodeSubjects = (nodeId: NodeId) => ({
  status: `l2tp.node.${nodeId}.status`,
  takeover: `l2tp.node.${nodeId}.takeover`,
})

export const endpointSubjects = (endpointId: EndpointId) => ({
  tunnels: `l2tp.ep.${endpointId}.tunnels`,
  sessions: `l2tp.ep.${endpointId}.sessions`,
  closeTunnel: `l2tp.ep.${endpointId}.close-tunnel`,
  closeSession: `l2tp.ep.${endpointId}.close-session`,
  sync: `l2tp.ep.${endpointId}.sync`,
  drain: `l2tp.ep.${endpointId}.drain`,
  undrain: `l2tp.ep.${endpointId}.undrain`,
  release: `l2tp.ep.${endpointId}.release`,
})

export const registrySubjects = {
  endpoints: 'l2tp.registry.endpoints',
  endpoint: 'l2tp.registry.endpoint',
  tunnel: 'l2tp.registry.tunnel',
  session: 'l2tp.registry.session',
  asOf: 'l2tp.registry.as-of',
  timeline: 'l2tp.registry.timeline',
} as const

/** A consumer group id as one subject token (Kafka allows '.', which NATS reads as a separator). */
export const groupToken = (groupId: string): string => groupId.replace(/[^A-Za-z0-9_-]/g, '_')

/**
 * The subjects of one partition of one events topic (named: labs may share a group id) of one
 * registry group: served only by the instance
 * that holds the partition (from when it is restored until it is revoked). The public
 * registrySubjects are answered by every instance, which forwards to these (docs/decisions.md,
 * "Partition-aware answers").
 */
export const partitionSubjects = (groupId: string, eventsTopic: string, partition: number) => {
  const base = `l2tp.registry.p.${groupToken(groupId)}.${groupToken(eventsTopic)}.${partition}`
  return {
    endpoints: `${base}.endpoints`,
    endpoint: `${base}.endpoint`,
    tunnel: `${base}.tunnel`,
    session: `${base}.session`,
    asOf: `${base}.as-of`,
    timeline: `${base}.timeline`,
  } as const
}
