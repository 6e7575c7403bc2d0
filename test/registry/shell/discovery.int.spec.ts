// Fleet discovery on the real nats-server: service instances grouped by node through the services
// API metadata, each node's status gathered, a node that does not answer its status named.
import type { Service } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  GetNodeStatus,
  nodeServiceMetadata,
  okReply,
  SERVICE_NODE,
  unsafe,
} from '../../../contracts/index.js'
import { nodeCommands } from '../../../nodes/shell/commands.js'
import { endpoint, gatherNodes, type NatsConnection, serve } from '../../../registry/shell/index.js'
import { natsAsNode, natsAsOperator } from '../../support/identity.js'

const LIVE = `disc-live-${process.pid}`
const GHOST = `disc-ghost-${process.pid}`
const services: Service[] = []
const conns: NatsConnection[] = []

beforeAll(async () => {
  const live = await natsAsNode(LIVE, [])
  const ghost = await natsAsNode(GHOST, [])
  conns.push(live, ghost, await natsAsOperator())
  const spec = (nodeId: string, endpointId?: string) => ({
    name: SERVICE_NODE,
    version: '0.1.0',
    description: `test ${nodeId}`,
    metadata: nodeServiceMetadata(nodeId, endpointId),
  })
  services.push(
    await serve(
      live,
      spec(LIVE),
      nodeCommands({
        nodeId: unsafe.nodeId(LIVE),
        startedAt: Date.now() - 5000,
        serving: () => [],
        standbyFor: () => [unsafe.endpointId('lns-x')],
      }),
    ),
    // A second instance of the same node (an endpoint's command set): grouped with the first.
    await serve(live, spec(LIVE, 'lns-y'), []),
    // A node whose instance is discoverable but whose status subject nobody answers.
    await serve(ghost, spec(GHOST), [
      endpoint({
        name: 'other',
        subject: `l2tp.node.${GHOST}.other`,
        request: GetNodeStatus,
        handle: async () => okReply(1),
      }),
    ]),
  )
})

afterAll(async () => {
  for (const s of services) await s.stop().catch(() => undefined)
  for (const c of conns) await c.close()
})

describe('fleet discovery (services API)', () => {
  it('groups instances by node, gathers status, names the node that did not answer', async () => {
    const operator = conns[2] as NatsConnection
    const f = await gatherNodes(operator, 1000, 2000)
    const live = f.nodes.find((n) => n.nodeId === LIVE)
    expect(live).toMatchObject({ versions: ['0.1.0'], instances: 2, problem: null })
    expect(live?.status).toMatchObject({ nodeId: LIVE, endpoints: [], standbyFor: ['lns-x'] })
    expect(live?.status?.uptimeMs).toBeGreaterThanOrEqual(5000)
    expect(live?.startedAt).not.toBeNull()
    const ghost = f.nodes.find((n) => n.nodeId === GHOST)
    expect(ghost).toMatchObject({ instances: 1, status: null })
    expect(f.missing).toContainEqual({
      nodeId: GHOST,
      reason: `no service answers l2tp.node.${GHOST}.status`,
    })
    expect(f.complete).toBe(false)
  })
})
