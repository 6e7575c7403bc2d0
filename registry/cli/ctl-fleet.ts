// l2tpctl nodes | fleet: the fleet's nodes from the services API discovery, and the registry's
// view beside them. Exit codes: nodes 0 when every node answered its status, 1 otherwise; fleet 0
// when the registry and every live node agree, 1 when any disagreement (or silent node) is flagged.
import { type EndpointSummary, EndpointsPage, missingOf, registrySubjects } from '../../contracts/index.js'
import { type FleetNodes, gatherNodes } from '../shell/index.js'
import { type Command, type Ctx, Failure, pages } from './ctl/context.js'
import { incomplete } from './ctl/registry-commands.js'
import { compareFleet, fleetText, nodesText } from './fleet-view.js'

/** How long discovery collects $SRV answers (every instance answers at once; the rest is slack). */
const discoveryMs = (timeout: number) => Math.min(2000, Math.max(250, timeout))

/** Every endpoint the registry knows, all pages (the comparison needs the whole fleet). */
const registryEndpoints = async (c: Ctx): Promise<EndpointSummary[]> => {
  const all: EndpointSummary[] = []
  const body = { type: 'ListEndpoints', v: 1 }
  const missing = new Set<number>()
  for await (const p of pages({ ...c, limit: null }, registrySubjects.endpoints, body, EndpointsPage)) {
    for (const m of missingOf(p) ?? []) missing.add(m)
    all.push(...p.items)
  }
  // Comparing against part of the fleet would flag every endpoint of the missing partitions.
  if (missing.size > 0) throw new Failure(`fleet: the registry's list is ${incomplete(missing)}`)
  return all
}

const silent = (f: FleetNodes): string =>
  f.missing.length === 0
    ? ''
    : `${f.missing.length} node(s) did not answer status (${f.missing.map((m) => m.nodeId).join(', ')})`

const nodes: Command = async (c) => {
  const f = await gatherNodes(await c.nats(), discoveryMs(c.timeoutMs), c.timeoutMs)
  await c.out.one(f, () => nodesText(f, Date.now()))
  if (f.missing.length > 0) throw new Failure(`nodes: ${silent(f)}`)
}

const fleet: Command = async (c) => {
  const nc = await c.nats()
  const [reg, f] = await Promise.all([
    registryEndpoints(c),
    gatherNodes(nc, discoveryMs(c.timeoutMs), c.timeoutMs),
  ])
  const rep = compareFleet(reg, f)
  await c.out.one(rep, () => fleetText(rep))
  if (!rep.agree) {
    const n = rep.endpoints.filter((l) => l.flags.length > 0).length
    throw new Failure(
      `fleet: ${n} endpoint(s) disagree${rep.problems.length > 0 ? `; ${rep.problems.length} problem(s)` : ''}`,
    )
  }
}

/** Registered in l2tpctl's command table. */
export const fleetCommands: Readonly<Record<string, Command>> = { nodes, fleet }

export const FLEET_HELP = `Fleet (services API discovery + the registry):
  nodes                                       every running node: version, uptime, endpoints served (epoch) and
                                              stood by for, tunnels, sessions, outbox backlog; exit 1 if a node
                                              did not answer its status (it is named)
  fleet                                       the registry's endpoints beside the live nodes, one line each, with
                                              disagreements flagged (owner with no live node, other epoch, two
                                              claimants, unknown to the registry); exit 0 all agree, 1 otherwise`
