// l2tpctl nodes | fleet: the fleet's nodes from the services API discovery, and the registry's
// view beside them. Exit codes: nodes 0 when every node answered its status, 1 otherwise; fleet 0
// when the registry and every live node agree, 1 when any disagreement (or silent node) is flagged.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import {
  describeContractError,
  EndpointSummary,
  fromValidation,
  Reply,
  registrySubjects,
} from '../../contracts/index.js'
import {
  connectNats,
  describeRequestError,
  type FleetNodes,
  gatherNodes,
  type NatsConnection,
  request,
} from '../shell/index.js'
import { natsFromEnv } from './env.js'
import { compareFleet, fleetText, nodesText } from './fleet-view.js'

type Values = Record<string, string | boolean | undefined>
type Command = (v: Values, json: boolean, timeout: number) => Promise<void>

/** How long discovery collects $SRV answers (every instance answers at once; the rest is slack). */
const discoveryMs = (timeout: number) => Math.min(2000, Math.max(250, timeout))

const write = (text: string): Promise<void> =>
  new Promise((resolve) => process.stdout.write(`${text}\n`, () => resolve()))

const withNats = async <A>(run: (nc: NatsConnection) => Promise<A>): Promise<A> => {
  const nc = await connectNats({ ...natsFromEnv('operator'), name: 'l2tpctl' })()
  if (E.isLeft(nc)) throw new Error(`cannot reach NATS: ${nc.left.detail}`)
  try {
    return await run(nc.right)
  } finally {
    await nc.right.close()
  }
}

const EndpointsReply = Reply(t.array(EndpointSummary))

const registryEndpoints = async (nc: NatsConnection, timeout: number): Promise<EndpointSummary[]> => {
  const r = await request(nc, registrySubjects.endpoints, { type: 'ListEndpoints', v: 1 }, timeout)()
  if (E.isLeft(r)) throw new Error(describeRequestError(r.left))
  const d = EndpointsReply.decode(r.right)
  if (E.isLeft(d)) throw new Error(describeContractError(fromValidation('registry reply', d.left)))
  if (!d.right.ok) throw new Error(`${d.right.code}: ${d.right.message}`)
  return d.right.result
}

const silent = (f: FleetNodes): string =>
  f.missing.length === 0
    ? ''
    : `${f.missing.length} node(s) did not answer status (${f.missing.map((m) => m.nodeId).join(', ')})`

const nodes: Command = async (_v, json, timeout) => {
  const f = await withNats((nc) => gatherNodes(nc, discoveryMs(timeout), timeout))
  await write(json ? JSON.stringify(f, null, 2) : nodesText(f, Date.now()))
  if (f.missing.length > 0) throw new Error(`nodes: ${silent(f)}`)
}

const fleet: Command = async (_v, json, timeout) => {
  const [reg, f] = await withNats((nc) =>
    Promise.all([registryEndpoints(nc, timeout), gatherNodes(nc, discoveryMs(timeout), timeout)]),
  )
  const rep = compareFleet(reg, f)
  await write(json ? JSON.stringify(rep, null, 2) : fleetText(rep))
  if (!rep.agree) {
    const n = rep.endpoints.filter((l) => l.flags.length > 0).length
    throw new Error(
      `fleet: ${n} endpoint(s) disagree${rep.problems.length > 0 ? `; ${rep.problems.length} problem(s)` : ''}`,
    )
  }
}

/** Registered in l2tpctl's command table. */
export const fleetCommands: Record<string, Command> = { nodes, fleet }

export const FLEET_HELP = `Fleet (services API discovery + the registry):
  nodes                                       every running node: version, uptime, endpoints served (epoch) and
                                              stood by for, tunnels, sessions, outbox backlog; exit 1 if a node
                                              did not answer its status (it is named)
  fleet                                       the registry's endpoints beside the live nodes, one line each, with
                                              disagreements flagged (owner with no live node, other epoch, two
                                              claimants, unknown to the registry); exit 0 all agree, 1 otherwise`
