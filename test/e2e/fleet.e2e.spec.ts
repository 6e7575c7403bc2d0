// The fleet view end to end with real processes, Kafka and NATS: an --ha owner and a plain node
// (both --publish, answering commands), the registry folding their events and watching the
// lease bucket, l2tpctl nodes / endpoints / fleet. Then the --ha owner dies with no standby:
// the registry shows its owner gone, fleet flags it, nodes no longer lists it.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as t from 'io-ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EndpointSummary, issuedSubject, NodeStatus, type TopicNames } from '../../contracts/index.js'
import type { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { type NatsConnection, request } from '../../registry/shell/index.js'
import { freshTopics } from '../support/brokers.js'
import { sleep } from '../support/churn.js'
import { natsAsOperator } from '../support/identity.js'
import { ctl, holdTunnels, killAll, spawnNode, spawnRegistry } from '../support/programs.js'

// Short ids: the l2tpctl tables pad their columns to 18 / 11 characters.
const RUN = Math.random().toString(36).slice(2, 8)
const HA_NODE = `fh-${RUN}`
const PLAIN_NODE = `fp-${RUN}`
const HA_EP = `lns-fh-${RUN}`
const PLAIN_EP = `lns-fp-${RUN}`
const REL_NODE = `fr-${RUN}`
const REL_EP = `lns-fr-${RUN}`
const procs: ChildProcess[] = []
let names: TopicNames
let operator: NatsConnection
let lac: UdpEndpoint | null = null
let haNode: ChildProcess
let relNode: ChildProcess

const prefix = () => names.events.replace('l2tp.events', '')

/** Polls until `check` returns a value (other labs on this NATS may answer some requests too). */
const until = async <A>(what: string, check: () => Promise<A | null>, ms = 90_000): Promise<A> => {
  const end = Date.now() + ms
  for (;;) {
    const a = await check().catch(() => null)
    if (a !== null) return a
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

const serving = (nodeId: string, endpointId: string) =>
  until(`${nodeId} serving ${endpointId}`, async () => {
    const r = await request(operator, `l2tp.node.${nodeId}.status`, { type: 'GetNodeStatus', v: 1 }, 2000)()
    const d = t.type({ ok: t.literal(true), result: NodeStatus }).decode(r._tag === 'Right' ? r.right : null)
    return d._tag === 'Right' && d.right.result.endpoints.some((e) => e.endpointId === endpointId)
      ? true
      : null
  })

/** `l2tpctl endpoints --json` until `ok` holds for our endpoints (another registry may answer too). */
const registryShows = (what: string, ok: (byId: Map<string, EndpointSummary>) => boolean) =>
  until(what, async () => {
    const r = await ctl(['endpoints', '--json'])
    if (r.code !== 0) return null
    const list = t.array(EndpointSummary).decode(JSON.parse(r.stdout))
    if (list._tag === 'Left') return null
    const byId = new Map(list.right.map((e) => [e.endpointId as string, e]))
    return ok(byId) ? byId : null
  })

beforeAll(async () => {
  names = await freshTopics()
  operator = await natsAsOperator()
  const dir = mkdtempSync(join(tmpdir(), 'fleet-'))
  procs.push(spawnRegistry(prefix()))
  haNode = await spawnNode({
    dir,
    nodeId: HA_NODE,
    endpoints: [{ id: HA_EP, host: '127.0.0.150' }],
    flags: ['--ha', '--publish'],
    topicPrefix: prefix(),
  })
  procs.push(
    haNode,
    await spawnNode({
      dir,
      nodeId: PLAIN_NODE,
      endpoints: [{ id: PLAIN_EP, host: '127.0.0.152' }],
      flags: ['--control', '--publish'],
      topicPrefix: prefix(),
    }),
  )
  relNode = await spawnNode({
    dir,
    nodeId: REL_NODE,
    endpoints: [{ id: REL_EP, host: '127.0.0.153' }],
    flags: ['--ha', '--publish'],
    topicPrefix: prefix(),
  })
  procs.push(relNode)
  await serving(HA_NODE, HA_EP)
  await serving(PLAIN_NODE, PLAIN_EP)
  await serving(REL_NODE, REL_EP)
  const held = await holdTunnels('127.0.0.151', '127.0.0.150', 3, 2)
  lac = held.lac
  expect(held.sim.progress.tunnelsUp).toBe(3)
}, 180_000)

afterAll(async () => {
  await lac?.stop()
  killAll(procs)
  await operator?.close()
})

describe('fleet view (l2tpctl nodes, endpoints, fleet)', () => {
  it('nodes lists every running node with its endpoints, epochs and counts; endpoints shows liveness', async () => {
    const view = await registryShows(
      'the registry to fold both endpoints with 3 tunnels on the --ha one',
      (m) => m.get(HA_EP)?.tunnels === 3 && m.get(HA_EP)?.liveness?.state === 'ok' && m.has(PLAIN_EP),
    )
    expect(view.get(HA_EP)).toMatchObject({ owner: HA_NODE, active: true, sessions: 6 })
    expect(view.get(PLAIN_EP)?.liveness?.state).toBe('no-lease')
    const human = await ctl(['endpoints'])
    expect(human.stdout).toMatch(new RegExp(`^${HA_EP}\\s+${HA_NODE}\\s+\\d+\\s+3\\s+6\\s+ok$`, 'm'))
    expect(human.stdout).toMatch(
      new RegExp(`^${PLAIN_EP}\\s+${PLAIN_NODE}\\s+\\d+\\s+0\\s+0\\s+no lease$`, 'm'),
    )

    const nodes = await ctl(['nodes', '--json'])
    const f = JSON.parse(nodes.stdout) as {
      nodes: Array<{ nodeId: string; versions: string[]; instances: number; status: NodeStatus | null }>
    }
    const ha = f.nodes.find((n) => n.nodeId === HA_NODE)
    const plain = f.nodes.find((n) => n.nodeId === PLAIN_NODE)
    // The --ha node: one service for its node commands, one for the endpoint it serves.
    expect(ha).toMatchObject({ versions: ['0.1.0'], instances: 2 })
    expect(ha?.status?.endpoints).toMatchObject([
      { endpointId: HA_EP, epoch: view.get(HA_EP)?.epoch, tunnels: 3, sessions: 6, outboxPending: 0 },
    ])
    expect(plain?.status).toMatchObject({ standbyFor: [], endpoints: [{ endpointId: PLAIN_EP, tunnels: 0 }] })
    const text = await ctl(['nodes'])
    expect(text.stdout).toMatch(
      new RegExp(`^${HA_NODE}\\s+0\\.1\\.0\\s+\\S+\\s+${HA_EP} e\\d+\\s+-\\s+3\\s+6\\s+0$`, 'm'),
    )
    expect(text.stdout).toMatch(new RegExp(`^${PLAIN_NODE}\\s+0\\.1\\.0\\s+\\S+\\s+${PLAIN_EP} e\\d+`, 'm'))
  }, 120_000)

  it('fleet: our three endpoints agree while their nodes live', async () => {
    const rep = await until('fleet lines for our endpoints', async () => {
      const r = await ctl(['fleet', '--json'])
      const j = JSON.parse(r.stdout) as { endpoints: Array<{ endpointId: string; flags: string[] }> }
      const mine = j.endpoints.filter((l) => [HA_EP, PLAIN_EP, REL_EP].includes(l.endpointId))
      return mine.length === 3 ? mine : null
    })
    expect(rep.map((l) => l.flags)).toEqual([[], [], []])
  }, 120_000)

  it('the --ha owner killed with no standby: the registry shows its owner gone, fleet flags it (exit 1)', async () => {
    haNode.kill('SIGKILL')
    const view = await registryShows(
      'the registry to see the owner gone',
      (m) => m.get(HA_EP)?.liveness?.state === 'gone',
    )
    expect(view.get(HA_EP)).toMatchObject({ owner: HA_NODE, active: true, liveness: { leaseNode: HA_NODE } })
    expect(view.get(PLAIN_EP)?.liveness?.state).toBe('no-lease')
    const human = await ctl(['endpoints'])
    expect(human.stdout).toMatch(
      new RegExp(`^${HA_EP}\\s+${HA_NODE}\\s+\\d+\\s+3\\s+6\\s+owner gone since \\d{4}-`, 'm'),
    )

    const fleet = await until('fleet to show the --ha endpoint', async () => {
      const r = await ctl(['fleet'])
      return r.stdout.includes(HA_EP) ? r : null
    })
    expect(fleet.code).toBe(1)
    expect(fleet.stderr).toMatch(/^l2tpctl: fleet: \d+ endpoint\(s\) disagree/m)
    const epoch = view.get(HA_EP)?.epoch
    expect(fleet.stdout).toMatch(
      new RegExp(
        `^${HA_EP}\\s+${HA_NODE} e${epoch}\\s+-\\s+.*owner gone since .*NO: registry: owner ${HA_NODE} epoch ${epoch}, but no live node serves it$`,
        'm',
      ),
    )
    expect(fleet.stdout).toMatch(new RegExp(`^${PLAIN_EP}\\s+.*\\syes$`, 'm'))

    const nodes = JSON.parse((await ctl(['nodes', '--json'])).stdout) as { nodes: Array<{ nodeId: string }> }
    expect(nodes.nodes.map((n) => n.nodeId)).toContain(PLAIN_NODE)
    expect(nodes.nodes.map((n) => n.nodeId)).not.toContain(HA_NODE)
  }, 120_000)

  it('an endpoint released with no standby shows released at T, and fleet agrees (nobody serves it, the registry says released)', async () => {
    await registryShows(
      'the registry to know the endpoint to release',
      (m) => m.get(REL_EP)?.liveness?.state === 'ok',
    )
    // Released, then the node is gone before it could claim its own endpoint back (it leaves it
    // to a standby for the detection time): the lease stays released.
    const r = await request(operator, issuedSubject(`l2tp.ep.${REL_EP}.release`, 'operator'), {
      type: 'ReleaseEndpoint',
      v: 1,
      endpointId: REL_EP,
    })()
    relNode.kill('SIGKILL')
    expect(r).toMatchObject({ _tag: 'Right', right: { ok: true } })
    const view = await registryShows(
      'the registry to see the release',
      (m) => m.get(REL_EP)?.liveness?.state === 'released',
    )
    expect(view.get(REL_EP)).toMatchObject({ owner: null, active: false })
    const human = await ctl(['endpoints'])
    expect(human.stdout).toMatch(new RegExp(`^${REL_EP}\\s+-\\s+\\d+\\s+0\\s+0\\s+released at \\d{4}-`, 'm'))
    const fleet = await until('fleet to show the released endpoint', async () => {
      const f = await ctl(['fleet'])
      return f.stdout.includes(REL_EP) ? f : null
    })
    expect(fleet.stdout).toMatch(
      new RegExp(`^${REL_EP}\\s+released e\\d+\\s+-\\s+-\\s+released at \\S+\\s+yes$`, 'm'),
    )
  }, 120_000)
})
