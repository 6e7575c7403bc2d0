// Partition-aware answers (issue 10, Build 1). The partition endpoints answer one partition's
// queries from the tables this instance holds for it; the router answers the public subjects on
// every instance: a query about one endpoint goes to the partition of its key (the producer's
// murmur2), the endpoint listing is gathered from every partition and says which did not answer.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import {
  type EndpointSummary,
  EndpointSummary as EndpointSummaryC,
  errorReply,
  type Gathered,
  GetEndpoint,
  GetSession,
  GetStateAsOf,
  GetTimeline,
  GetTunnel,
  ListEndpoints,
  okReply,
  Page,
  partitionSubjects,
  Reply,
  registrySubjects,
  type Served,
  ServedProps,
} from '../../contracts/index.js'
import { type EndpointTable, type Fleet, sessionView, takePage, tunnelView } from '../domain/index.js'
import { describeInfraError } from './errors.js'
import type { EventLogDeps } from './event-log.js'
import type { forensicsGate } from './forensics.js'
import { type asOfTables, endpointsPage, gated, tablePageOf, timelinePage } from './listings.js'
import { describeRequestError, type Endpoint, endpoint, type NatsConnection, request } from './nats-port.js'

export interface PartitionView {
  readonly deps: EventLogDeps
  readonly partition: number
  readonly fleet: () => Fleet
  readonly partitionOf: (endpointId: string) => number
  readonly served: () => Served
  readonly summaryOf: (t: EndpointTable) => EndpointSummary
  readonly asOf: ReturnType<typeof asOfTables>
  /** At most so many as-of/timeline reads at once over every partition of this instance. */
  readonly gate: ReturnType<typeof forensicsGate>
}

type Answer<A> = Reply<A> & { readonly served?: readonly Served[] }

/** The endpoints of one partition's subjects, answered from this instance's tables. */
export const partitionEndpoints = (groupId: string, v: PartitionView): Array<Endpoint<t.Mixed, unknown>> => {
  const subjects = partitionSubjects(groupId, v.deps.names.events, v.partition)
  const stamp = <A>(r: Reply<A>): Answer<A> => ({ ...r, served: [v.served()] })
  const table = (id: string) => (v.partitionOf(id) === v.partition ? v.fleet().get(id) : undefined)
  const mine = (): Fleet => {
    const out: Fleet = new Map()
    for (const [id, tb] of v.fleet()) if (v.partitionOf(id) === v.partition) out.set(id, tb)
    return out
  }
  const name = (q: string) => `p${v.partition}-${q}`
  return [
    endpoint({
      name: name('endpoints'),
      subject: subjects.endpoints,
      request: ListEndpoints,
      handle: async (r) => stamp(endpointsPage(mine(), r, v.summaryOf)),
    }),
    endpoint({
      name: name('endpoint'),
      subject: subjects.endpoint,
      request: GetEndpoint,
      handle: async (r) => {
        const tb = table(r.endpointId)
        return stamp(
          tb === undefined ? errorReply('NotFound', `no endpoint ${r.endpointId}`) : tablePageOf(tb, r),
        )
      },
    }),
    endpoint({
      name: name('tunnel'),
      subject: subjects.tunnel,
      request: GetTunnel,
      handle: async (r) => {
        // One tunnel's view, not the whole table's (an endpoint may hold 10^5 sessions).
        const tunnel = table(r.endpointId)?.tunnels.get(r.localTunnelId)
        return stamp(
          tunnel === undefined
            ? errorReply('NotFound', `no tunnel ${r.endpointId}/${r.localTunnelId}`)
            : okReply(tunnelView(tunnel)),
        )
      },
    }),
    endpoint({
      name: name('session'),
      subject: subjects.session,
      request: GetSession,
      handle: async (r) => {
        const x = table(r.endpointId)?.tunnels.get(r.localTunnelId)?.sessions.get(r.localSessionId)
        return stamp(
          x === undefined
            ? errorReply('NotFound', `no session ${r.endpointId}/${r.localTunnelId}/${r.localSessionId}`)
            : okReply(sessionView(x)),
        )
      },
    }),
    endpoint({
      name: name('as-of'),
      subject: subjects.asOf,
      request: GetStateAsOf,
      handle: async (r) =>
        stamp(
          await gated(v.gate, async () => {
            const tb = await v.asOf(r.endpointId, r.asOf, r.cursor === undefined, Date.now())
            return E.isLeft(tb)
              ? errorReply('Unavailable', describeInfraError(tb.left))
              : tablePageOf(tb.right, r)
          }),
        ),
    }),
    endpoint({
      name: name('timeline'),
      subject: subjects.timeline,
      request: GetTimeline,
      handle: async (r) => stamp(await gated(v.gate, () => timelinePage(v.deps, r))),
    }),
  ]
}

export interface RouterOptions {
  readonly groupId: string
  readonly eventsTopic: string
  /** Partitions of l2tp.events. */
  readonly count: number
  readonly partitionOf: (endpointId: string) => number
  /** How long a partition may take to answer a table query (the caller's own timeout is longer). */
  readonly forwardMs: number
  /** ... and a forensic one (as-of, timeline read the log). */
  readonly forensicMs: number
  /** The partition endpoint of a subject when this instance answers it itself (no NATS hop). */
  readonly local: (subject: string) => Endpoint<t.Mixed, unknown> | undefined
  /** A forward that got no answer (debug: which partition, why). */
  readonly warn?: (msg: string) => void
}

const Forwarded = t.intersection([Reply(t.unknown), ServedProps])
export const PartitionPage = t.intersection([Reply(Page(EndpointSummaryC)), ServedProps])

const unavailable = (p: number, why: string) =>
  errorReply(
    'Unavailable',
    `partition ${p} of l2tp.events: ${why}; retry (it is being restored or rebalanced)`,
  )

/**
 * Asks the instance holding partition `p` (this one directly, when it holds it); no answer is a
 * retryable Unavailable, never a timeout.
 */
const forward = async (
  nc: NatsConnection,
  o: RouterOptions,
  p: number,
  subject: string,
  body: unknown,
  timeoutMs: number,
): Promise<t.TypeOf<typeof Forwarded>> => {
  const here = o.local(subject)
  if (here !== undefined) {
    const d = Forwarded.decode(await here.handle(body, { subject, issuer: null }))
    return E.isRight(d) ? d.right : errorReply('Internal', `partition ${p} answered something else`)
  }
  const r = await request(nc, subject, body, timeoutMs)()
  if (E.isLeft(r)) o.warn?.(`forward to ${subject}: ${describeRequestError(r.left)}`)
  if (E.isLeft(r))
    return unavailable(
      p,
      r.left._tag === 'NoResponders' ? 'no instance answers for it' : describeRequestError(r.left),
    )
  const d = Forwarded.decode(r.right)
  return E.isRight(d) ? d.right : errorReply('Internal', `partition ${p} answered something else`)
}

/**
 * One page of the fleet's endpoints from each partition's page after the same cursor: items in
 * id order, cut where the shortest partition page that has more stops (an id past it could be
 * missing), `complete`/`missing` for the partitions that did not answer (null or an error).
 */
export const mergePages = (
  replies: ReadonlyArray<{ readonly p: number; readonly reply: Answer<Page<EndpointSummary>> | null }>,
  r: { readonly limit?: number },
): Answer<Page<EndpointSummary> & Gathered> => {
  const missing: number[] = []
  const served: Served[] = []
  const items: Array<readonly [string, EndpointSummary]> = []
  let bound: string | null = null
  for (const { p, reply } of replies) {
    if (reply === null || !reply.ok) {
      missing.push(p)
      continue
    }
    served.push(...(reply.served ?? []))
    for (const e of reply.result.items) items.push([e.endpointId, e])
    const last = reply.result.items[reply.result.items.length - 1]
    if (reply.result.next !== null && last !== undefined && (bound === null || last.endpointId < bound))
      bound = last.endpointId
  }
  const upTo = bound
  const inOrder = items
    .filter(([id]) => upTo === null || id <= upTo)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const page = takePage(inOrder, r)
  // Cut by the bound only: the partitions that have more are asked again from the last id.
  const next = page.next ?? (upTo === null ? null : (inOrder[inOrder.length - 1]?.[0] ?? null))
  return { ...okReply({ ...page, next, complete: missing.length === 0, missing }), served }
}

/**
 * The public registry subjects, on every instance. `endpoints` gathers a page from every
 * partition: items in id order after the cursor, cut where the shortest partition page stops,
 * with `complete` and `missing` (the partitions that did not answer) and who served each part.
 */
export const routerEndpoints = (nc: NatsConnection, o: RouterOptions): Array<Endpoint<t.Mixed, unknown>> => {
  const subjectsOf = (id: string) => partitionSubjects(o.groupId, o.eventsTopic, o.partitionOf(id))
  const keyed = <C extends t.Mixed>(name: keyof typeof registrySubjects, codec: C, ms: number) =>
    endpoint({
      name,
      subject: registrySubjects[name],
      request: codec,
      handle: async (r: { readonly endpointId: string }) =>
        forward(nc, o, o.partitionOf(r.endpointId), subjectsOf(r.endpointId)[name], r, ms),
    })
  return [
    endpoint({
      name: 'endpoints',
      subject: registrySubjects.endpoints,
      request: ListEndpoints,
      handle: async (r) => {
        const all = Array.from({ length: o.count }, (_, p) => p)
        const replies = await Promise.all(
          all.map(async (p) => {
            const x = await forward(
              nc,
              o,
              p,
              partitionSubjects(o.groupId, o.eventsTopic, p).endpoints,
              r,
              o.forwardMs,
            )
            const d = PartitionPage.decode(x)
            return { p, reply: E.isRight(d) ? d.right : null }
          }),
        )
        return mergePages(replies, r)
      },
    }),
    keyed('endpoint', GetEndpoint, o.forwardMs),
    keyed('tunnel', GetTunnel, o.forwardMs),
    keyed('session', GetSession, o.forwardMs),
    keyed('asOf', GetStateAsOf, o.forensicMs),
    keyed('timeline', GetTimeline, o.forensicMs),
  ]
}
