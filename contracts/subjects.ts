// NATS subject names (DESIGN.md §6). Tokens are EndpointId/NodeId, which never contain '.', '*', '>'.
import type { EndpointId, NodeId } from './ids.js'

export const SERVICE_NODE = 'l2tp-node'
export const SERVICE_REGISTRY = 'l2tp-registry'
/** JetStream KV bucket of endpoint ownership leases (DESIGN.md §5). */
export const LEASE_BUCKET = 'l2tp_endpoints'

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
