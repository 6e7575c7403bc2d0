// Operator commands of a node over NATS (DESIGN.md §6): per endpoint (tunnels, sessions,
// close-tunnel, close-session, sync, drain, and release under a lease) and per node (status,
// takeover). A command that changes state goes subject -> codec -> decide (nodes/engine/decide.ts,
// pure) -> engine inputs -> reply, and is recorded as a CommandApplied event, applied or
// rejected, so timelines show who did what. Shell.
import * as E from 'fp-ts/lib/Either.js'
import {
  CloseSession,
  CloseTunnel,
  commandApplied,
  DrainEndpoint,
  type EndpointId,
  type EndpointSummary,
  type ErrorReply,
  endpointSubjects,
  errorReply,
  GetNodeStatus,
  ListSessions,
  ListTunnels,
  type NodeId,
  nodeSubjects,
  okReply,
  type Reply,
  SyncSessions,
  TakeOverEndpoint,
  UndrainEndpoint,
} from '../../contracts/index.js'
import { sessionCount, sessionItems, tablePage, tunnelItems } from '../../registry/index.js'
import { endpoint, issuedEndpoint } from '../../registry/shell/index.js'
import { decide, type OperatorCommand, syncTargets } from '../engine/decide.js'
import type { Input } from '../engine/types.js'
import type { UdpEndpoint } from './udp-endpoint.js'

type AnyEndpoint = ReturnType<typeof endpoint>

export interface Audit {
  readonly command: string
  readonly subject: string
  readonly issuer: string
  readonly localTunnelId?: number | null
  readonly localSessionId?: number | null
}

/** Records the command's outcome in the endpoint's log and answers the request with it. */
export const audited = <A>(ep: UdpEndpoint, a: Audit, outcome: Reply<A>): Reply<A> => {
  ep.record(
    commandApplied({
      command: a.command,
      subject: a.subject,
      issuer: a.issuer,
      result: outcome.ok ? 'applied' : 'rejected',
      detail: outcome.ok ? null : outcome.message,
      localTunnelId: a.localTunnelId ?? null,
      localSessionId: a.localSessionId ?? null,
    }),
  )
  return outcome
}

/** A handler for this endpoint only: a request naming another one is refused. */
const onlyFor =
  <R extends { readonly endpointId: string }, X, A>(ep: UdpEndpoint, handle: (r: R, ctx: X) => Reply<A>) =>
  async (r: R, ctx: X): Promise<Reply<A> | ErrorReply> =>
    r.endpointId === ep.identity.endpointId
      ? handle(r, ctx)
      : errorReply('BadRequest', `this is ${ep.identity.endpointId}`)

/**
 * Decides a command on the engine's state, feeds the inputs of an accepted one, and answers
 * (audited either way): `reply` sees the inputs fed.
 */
const decided = <A>(
  ep: UdpEndpoint,
  a: Audit,
  c: OperatorCommand,
  reply: (inputs: readonly Input[]) => A,
): Reply<A> => {
  const d = decide(c, ep.engine)
  if (E.isLeft(d)) return audited(ep, a, errorReply(d.left.code, d.left.message))
  for (const i of d.right) ep.input(i)
  return audited(ep, a, okReply(reply(d.right)))
}

/** What an endpoint answers while this node serves it. `release` is given under a lease. */
export const endpointCommands = (ep: UdpEndpoint, release?: AnyEndpoint): ReadonlyArray<AnyEndpoint> => {
  const s = endpointSubjects(ep.identity.endpointId)
  const list: Array<AnyEndpoint> = [
    endpoint({
      name: 'tunnels',
      subject: s.tunnels,
      request: ListTunnels,
      handle: onlyFor(ep, (r) => tablePage(r, (after) => tunnelItems(ep.table, after, r.filter))),
    }),
    endpoint({
      name: 'sessions',
      subject: s.sessions,
      request: ListSessions,
      handle: onlyFor(ep, (r) => {
        const one = r.localTunnelId
        if (one === null) return tablePage(r, (after) => sessionItems(ep.table, after, r.filter))
        if (r.filter?.localTunnelId !== undefined && r.filter.localTunnelId !== one)
          return errorReply('BadRequest', 'localTunnelId and filter.localTunnelId differ')
        if (!ep.table.tunnels.has(one)) return errorReply('NotFound', `no tunnel ${one}`)
        const filter = { ...r.filter, localTunnelId: one }
        return tablePage(r, (after) => sessionItems(ep.table, after, filter))
      }),
    }),
    issuedEndpoint({
      name: 'close-tunnel',
      subject: s.closeTunnel,
      request: CloseTunnel,
      handle: onlyFor(ep, (r, { issuer }) =>
        decided(
          ep,
          { command: 'CloseTunnel', subject: s.closeTunnel, issuer, localTunnelId: r.localTunnelId },
          { _tag: 'CloseTunnel', localTunnelId: r.localTunnelId, reason: r.reason, issuer },
          () => ({ closed: r.localTunnelId }),
        ),
      ),
    }),
    issuedEndpoint({
      name: 'close-session',
      subject: s.closeSession,
      request: CloseSession,
      handle: onlyFor(ep, (r, { issuer }) =>
        decided(
          ep,
          {
            command: 'CloseSession',
            subject: s.closeSession,
            issuer,
            localTunnelId: r.localTunnelId,
            localSessionId: r.localSessionId,
          },
          {
            _tag: 'CloseSession',
            localTunnelId: r.localTunnelId,
            localSessionId: r.localSessionId,
            reason: r.reason,
            issuer,
          },
          () => ({ closed: r.localSessionId }),
        ),
      ),
    }),
    issuedEndpoint({
      name: 'sync',
      subject: s.sync,
      request: SyncSessions,
      handle: onlyFor(ep, (r, { issuer }) => {
        // Counted before the queries go out, by the rule the engine applies (decide.ts).
        const skipped = syncTargets(ep.engine, r.localTunnelId).legacy.length
        return decided(
          ep,
          { command: 'SyncSessions', subject: s.sync, issuer, localTunnelId: r.localTunnelId },
          { _tag: 'SyncSessions', localTunnelId: r.localTunnelId },
          (inputs) => ({ queriedTunnels: inputs.length, skippedLegacyPeers: skipped }),
        )
      }),
    }),
    issuedEndpoint({
      name: 'drain',
      subject: s.drain,
      request: DrainEndpoint,
      handle: onlyFor(ep, (_r, { issuer }) =>
        decided(ep, { command: 'DrainEndpoint', subject: s.drain, issuer }, { _tag: 'Drain' }, () => ({
          draining: ep.identity.endpointId,
        })),
      ),
    }),
    issuedEndpoint({
      name: 'undrain',
      subject: s.undrain,
      request: UndrainEndpoint,
      handle: onlyFor(ep, (_r, { issuer }) =>
        // Lifts the operator's drain only: outbox pressure (or a release) still refuses.
        decided(ep, { command: 'UndrainEndpoint', subject: s.undrain, issuer }, { _tag: 'Undrain' }, () => ({
          undrained: ep.identity.endpointId,
          refusing: ep.refusal.list.join(',') || 'none',
        })),
      ),
    }),
  ]
  if (release !== undefined) list.push(release)
  return list
}

/** One endpoint as this node sees it (NodeStatus.endpoints). */
export const summaryOf = (ep: UdpEndpoint, outboxPending: number | null = null): EndpointSummary => ({
  endpointId: ep.identity.endpointId,
  epoch: ep.epoch as EndpointSummary['epoch'],
  owner: ep.identity.nodeId,
  active: true,
  role: ep.engine.config.role,
  address: ep.bind,
  tunnels: ep.table.tunnels.size as EndpointSummary['tunnels'],
  sessions: sessionCount(ep.table) as EndpointSummary['sessions'],
  consistent: true,
  outboxPending,
  draining: ep.refusal.has('drain'),
  refusing: ep.refusal.list,
})

export interface NodeView {
  readonly nodeId: NodeId
  readonly startedAt: number
  /** Endpoints this node serves now. */
  readonly serving: () => readonly UdpEndpoint[]
  /** Endpoints this node stands by for (under a lease someone else holds). */
  readonly standbyFor: () => readonly EndpointId[]
  /** Claims an endpoint at once (HA nodes only). */
  readonly takeOver?: (endpointId: EndpointId, issuer: string) => Promise<Reply<unknown>>
  /** Events of the endpoint waiting for Kafka (null: not publishing). */
  readonly outboxOf?: (endpointId: EndpointId) => number | null
}

/** The node's own subjects: status and takeover. */
export const nodeCommands = (n: NodeView): ReadonlyArray<AnyEndpoint> => {
  const s = nodeSubjects(n.nodeId)
  return [
    endpoint({
      name: 'status',
      subject: s.status,
      request: GetNodeStatus,
      handle: async () =>
        okReply({
          nodeId: n.nodeId,
          uptimeMs: Math.max(0, Date.now() - n.startedAt),
          endpoints: n.serving().map((e) => summaryOf(e, n.outboxOf?.(e.identity.endpointId) ?? null)),
          standbyFor: [...n.standbyFor()],
        }),
    }),
    issuedEndpoint({
      name: 'takeover',
      subject: s.takeover,
      request: TakeOverEndpoint,
      handle: async (r, { issuer }) =>
        n.takeOver === undefined
          ? errorReply('BadRequest', 'this node does not run endpoints under a lease (--ha)')
          : n.takeOver(r.endpointId, issuer),
    }),
  ]
}
