// l2tpctl fleet's comparison: the registry's endpoints beside what live nodes serve. Pure.
import { describe, expect, it } from 'vitest'
import { type EndpointSummary, type NodeStatus, unsafe } from '../../../contracts/index.js'
import { compareFleet, fleetText, nodesText, stateText } from '../../../registry/cli/fleet-view.js'
import type { FleetNodes, NodeRow } from '../../../registry/shell/discovery.js'

const summary = (id: string, owner: string | null, epoch: number, extra: Partial<EndpointSummary> = {}) =>
  ({
    endpointId: unsafe.endpointId(id),
    epoch: unsafe.epoch(epoch),
    owner: owner === null ? null : unsafe.nodeId(owner),
    active: owner !== null,
    role: 'LNS',
    address: null,
    tunnels: 2,
    sessions: 10,
    consistent: true,
    ...extra,
  }) as EndpointSummary

const node = (nodeId: string, serves: Array<[string, number]>, standbyFor: string[] = []): NodeRow => {
  const status: NodeStatus = {
    nodeId: unsafe.nodeId(nodeId),
    uptimeMs: 65_000,
    endpoints: serves.map(([id, epoch]) => summary(id, nodeId, epoch, { outboxPending: 3 })),
    standbyFor: standbyFor.map(unsafe.endpointId),
  }
  return { nodeId, versions: ['0.1.0'], instances: 1 + serves.length, startedAt: 0, status, problem: null }
}
const fleet = (nodes: NodeRow[], missing: FleetNodes['missing'] = []): FleetNodes => ({
  nodes,
  missing,
  unattributed: [],
  complete: missing.length === 0,
})
const flagsOf = (rep: ReturnType<typeof compareFleet>, id: string) =>
  rep.endpoints.find((l) => l.endpointId === id)?.flags ?? ['(no line)']

describe('l2tpctl fleet: registry vs live nodes', () => {
  it('agrees when every registry owner serves its endpoint at the registry epoch', () => {
    const rep = compareFleet(
      [summary('a', 'n1', 3), summary('b', 'n2', 1)],
      fleet([node('n1', [['a', 3]], ['b']), node('n2', [['b', 1]], ['a'])]),
    )
    expect(rep.agree).toBe(true)
    expect(rep.endpoints.map((l) => [l.endpointId, l.standby])).toEqual([
      ['a', ['n2']],
      ['b', ['n1']],
    ])
    expect(fleetText(rep)).toMatch(/^a\s+n1 e3\s+n1 e3\s+n2\s+-\s+yes$/m)
  })

  it('flags an owner with no live node, another epoch, another owner, two claimants, an unknown endpoint', () => {
    const rep = compareFleet(
      [
        summary('gone', 'n1', 2),
        summary('epoch', 'n1', 4),
        summary('other', 'n1', 1),
        summary('two', 'n1', 1),
      ],
      fleet([
        node('n1', [
          ['epoch', 3],
          ['two', 1],
        ]),
        node('n2', [
          ['other', 2],
          ['two', 2],
          ['stray', 1],
        ]),
      ]),
    )
    expect(rep.agree).toBe(false)
    expect(flagsOf(rep, 'gone')).toEqual(['registry: owner n1 epoch 2, but no live node serves it'])
    expect(flagsOf(rep, 'epoch')).toEqual(['n1 e3 serves it; registry has epoch 4'])
    expect(flagsOf(rep, 'other')).toEqual(['n2 e2 serves it; registry: owner n1 epoch 1'])
    expect(flagsOf(rep, 'two')[0]).toBe('claimed by 2 nodes: n1 e1, n2 e2')
    expect(flagsOf(rep, 'stray')).toEqual(['n2 e1 serves it; the registry does not know it'])
  })

  it('a released endpoint that nobody serves agrees; a silent node is a problem, not left out', () => {
    const rep = compareFleet(
      [summary('rel', null, 2)],
      fleet([node('n1', [])], [{ nodeId: 'n9', reason: 'no reply in time' }]),
    )
    expect(flagsOf(rep, 'rel')).toEqual([])
    expect(rep.problems).toEqual(['node n9 did not answer status: no reply in time'])
    expect(rep.agree).toBe(false)
  })

  it('STATE column and the nodes table', () => {
    const gone = { state: 'gone', since: unsafe.millis(0), leaseNode: 'n1', leaseEpoch: 2 } as const
    expect(stateText(summary('a', 'n1', 2, { liveness: gone }))).toBe(
      'owner gone since 1970-01-01T00:00:00.000Z',
    )
    expect(stateText(summary('a', 'n1', 2, { liveness: { ...gone, state: 'ok' } }))).toBe('ok')
    // No liveness in the reply (the registry does not watch the leases): not shown as ok.
    expect(stateText(summary('a', 'n1', 2))).toBe('liveness unknown')
    expect(
      stateText(summary('a', 'n1', 2, { consistent: false, liveness: { ...gone, state: 'no-lease' } })),
    ).toBe('INCONSISTENT, no lease')
    const text = nodesText(
      {
        ...fleet([node('n1', [['a', 3]], ['b'])]),
        nodes: [
          node('n1', [['a', 3]], ['b']),
          { ...node('n2', []), status: null, problem: 'no reply on l2tp.node.n2.status in time' },
        ],
      },
      120_000,
    )
    expect(text).toMatch(/^n1\s+0\.1\.0\s+1m05s\s+a e3\s+b\s+2\s+10\s+3$/m)
    expect(text).toMatch(/^n2\s+0\.1\.0\s+2m00s\s+\(no status: no reply on l2tp.node.n2.status in time\)$/m)
  })
})
