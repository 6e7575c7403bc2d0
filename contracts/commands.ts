// NATS requests and replies (DESIGN.md §6): node status, endpoint commands, registry queries.
// Requests are imperative; every one has a literal `type` and `v`. Pure. A state-changing
// request carries no issuer: it is the authenticated sender, the last token of its subject.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import * as t from 'io-ts'
import { type ContractError, contractError, fromValidation } from './errors.js'
import { Address, EndpointId, Epoch, Millis, NodeId, Offset, SessionId, TunnelId } from './ids.js'
import { Liveness } from './liveness.js'
import { Page, pageProps, TunnelFilter } from './paging.js'
import { Count, nullable, Role } from './parts.js'

const request = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.type({ type: t.literal(type), v: t.literal(1), ...props }, type)

/**
 * Why an operator closes a tunnel or session. It travels to the peer in the Result Code AVP (at
 * most 1023 bytes, RFC 2661 §4.1), so it is bounded: 255 UTF-16 units are at most 765 bytes.
 */
export const REASON_MAX = 255
export const Reason = t.refinement(t.string, (s) => s.length <= REASON_MAX, 'Reason')

/** A listing: the request's own fields plus the optional paging fields (paging.ts). */
const listing = <T extends string, P extends t.Props, F extends t.Mixed>(type: T, props: P, filter: F) =>
  t.intersection([request(type, props), pageProps(filter)], type)

// --- l2tp-node ----------------------------------------------------------------------------
export const GetNodeStatus = request('GetNodeStatus', {})
export const ListTunnels = listing('ListTunnels', { endpointId: EndpointId }, TunnelFilter)
/** `localTunnelId` (one tunnel, or null: all) predates `filter`; both apply when both are given. */
export const ListSessions = listing(
  'ListSessions',
  { endpointId: EndpointId, localTunnelId: nullable(TunnelId) },
  TunnelFilter,
)
export const CloseTunnel = request('CloseTunnel', {
  endpointId: EndpointId,
  localTunnelId: TunnelId,
  reason: nullable(Reason),
})
export const CloseSession = request('CloseSession', {
  endpointId: EndpointId,
  localTunnelId: TunnelId,
  localSessionId: SessionId,
  reason: nullable(Reason),
})
/**
 * Session state synchronisation on demand (RFC 4951 §5.9 Step II): FSQ for every established
 * session of one tunnel, or of every tunnel; sessions the peer does not know are cleared silently.
 */
export const SyncSessions = request('SyncSessions', {
  endpointId: EndpointId,
  localTunnelId: nullable(TunnelId),
})
/** Stop accepting new tunnels and sessions on the endpoint; established ones stay. */
export const DrainEndpoint = request('DrainEndpoint', { endpointId: EndpointId })
/** Lift an operator's drain (an outbox-pressure refusal stays until the outbox drains). */
export const UndrainEndpoint = request('UndrainEndpoint', { endpointId: EndpointId })
/** Planned switchover: flush, emit EndpointReleased, give up the lease (DESIGN.md §5.3). */
export const ReleaseEndpoint = request('ReleaseEndpoint', { endpointId: EndpointId })
/** Ask a standby node to claim an endpoint now instead of waiting for detection. */
export const TakeOverEndpoint = request('TakeOverEndpoint', { endpointId: EndpointId })

// --- l2tp-registry ------------------------------------------------------------------------
export const EndpointFilter = t.partial({ owner: NodeId, active: t.boolean })
export type EndpointFilter = t.TypeOf<typeof EndpointFilter>
export const ListEndpoints = listing('ListEndpoints', {}, EndpointFilter)
/** An endpoint's table, paged by rows (paging.ts TablePage); the filter narrows the tunnels. */
export const GetEndpoint = listing('GetEndpoint', { endpointId: EndpointId }, TunnelFilter)
export const GetTunnel = request('GetTunnel', { endpointId: EndpointId, localTunnelId: TunnelId })
export const GetSession = request('GetSession', {
  endpointId: EndpointId,
  localTunnelId: TunnelId,
  localSessionId: SessionId,
})
/** State of one endpoint as of a wall-clock time or a Kafka offset of its partition. */
export const GetStateAsOf = listing(
  'GetStateAsOf',
  { endpointId: EndpointId, asOf: t.union([t.type({ at: Millis }), t.type({ offset: Offset })]) },
  TunnelFilter,
)
export const GetTimeline = listing(
  'GetTimeline',
  { endpointId: EndpointId, localTunnelId: TunnelId, localSessionId: nullable(SessionId) },
  t.partial({}),
)

export const Command = t.union([
  GetNodeStatus,
  ListTunnels,
  ListSessions,
  CloseTunnel,
  CloseSession,
  SyncSessions,
  DrainEndpoint,
  UndrainEndpoint,
  ReleaseEndpoint,
  TakeOverEndpoint,
  ListEndpoints,
  GetEndpoint,
  GetTunnel,
  GetSession,
  GetStateAsOf,
  GetTimeline,
])
export type Command = t.TypeOf<typeof Command>
export type CommandType = Command['type']

// --- replies ------------------------------------------------------------------------------
/** Why an endpoint refuses new tunnels and sessions (node side; any reason refuses). */
export const RefusalReason = t.keyof(
  { drain: null, outbox: null, release: null, shutdown: null },
  'RefusalReason',
)
export type RefusalReason = t.TypeOf<typeof RefusalReason>

/** One endpoint as a node or the registry sees it. */
export const EndpointSummary = t.intersection([
  t.type({
    endpointId: EndpointId,
    epoch: Epoch,
    owner: nullable(NodeId),
    active: t.boolean,
    role: nullable(Role),
    address: nullable(Address),
    tunnels: Count,
    sessions: Count,
    consistent: t.boolean,
  }),
  t.partial({
    /** The registry's view of the owner's liveness (absent in node replies and older registries). */
    liveness: nullable(Liveness),
    /** Events waiting in the node's outbox for Kafka (node replies; null when not publishing). */
    outboxPending: nullable(Count),
    /** Node side only (absent from the registry and from older nodes): drain state. */
    draining: t.boolean,
    refusing: t.array(RefusalReason),
  }),
])
export type EndpointSummary = t.TypeOf<typeof EndpointSummary>

export const NodeStatus = t.type({
  nodeId: NodeId,
  uptimeMs: Count,
  endpoints: t.array(EndpointSummary),
  standbyFor: t.array(EndpointId),
})
export type NodeStatus = t.TypeOf<typeof NodeStatus>

/** What a command did, as flat fields (l2tpctl prints them `key: value`). */
export const CommandResult = t.UnknownRecord
export type CommandResult = t.TypeOf<typeof CommandResult>

/** Why a request was refused. The reply always comes; a bad request never times out. */
export const ErrorCode = t.keyof({
  BadRequest: null,
  NotFound: null,
  NotOwner: null,
  Conflict: null,
  Unavailable: null,
  Internal: null,
  /** The answer would not fit in one NATS message: ask for a smaller page. */
  TooLarge: null,
  /** Too many forensic reads (as-of, timeline) at once: retry shortly. */
  Busy: null,
})
export type ErrorCode = t.TypeOf<typeof ErrorCode>

export const ErrorReply = t.type({ ok: t.literal(false), code: ErrorCode, message: t.string })
export type ErrorReply = t.TypeOf<typeof ErrorReply>

/** `{ ok: true, result }` or `{ ok: false, code, message }`. */
export const Reply = <C extends t.Mixed>(result: C) =>
  t.union([t.type({ ok: t.literal(true), result }), ErrorReply])
export type Reply<A> = { readonly ok: true; readonly result: A } | ErrorReply

export const okReply = <A>(result: A): Reply<A> => ({ ok: true, result })
export const errorReply = (code: ErrorCode, message: string): ErrorReply => ({ ok: false, code, message })

/**
 * Who answered a registry query and how fresh the answer is: the instance, the l2tp.events
 * partition it holds and the last offset of that partition it had folded (null: none yet).
 * Registry replies carry `served` next to `ok` (one entry, or one per partition gathered).
 */
export const Served = t.type({ instance: t.string, partition: Count, lastApplied: nullable(Offset) })
export type Served = t.TypeOf<typeof Served>
export const ServedProps = t.partial({ served: t.array(Served) })

/**
 * A page of a fleet-wide listing gathered from every partition: `complete` false when some
 * partitions did not answer (held by no instance, being restored, or timed out); `missing` names
 * them. Their endpoints are absent from the page; the page's items are still in order.
 */
export const Gathered = t.type({ complete: t.boolean, missing: t.array(Count) })
export type Gathered = t.TypeOf<typeof Gathered>
/** A page of l2tp.registry.endpoints (`complete`/`missing` absent from older registries: complete). */
export const EndpointsPage = t.intersection([Page(EndpointSummary), t.partial(Gathered.props)])
export type EndpointsPage = t.TypeOf<typeof EndpointsPage>
/** The partitions a gathered page lacked, or null when it lacked none. */
export const missingOf = (p: EndpointsPage): readonly number[] | null =>
  p.complete === false ? (p.missing ?? []) : null

/** bytes -> a command of the expected codec, with a readable error. */
export const parseRequest = <C extends t.Mixed>(
  codec: C,
  bytes: Uint8Array,
): E.Either<ContractError, t.TypeOf<C>> => {
  const json = J.parse(Buffer.from(bytes).toString('utf8'))
  if (E.isLeft(json)) return E.left(contractError('request', ['not JSON']))
  const r = codec.decode(json.right)
  return E.isLeft(r) ? E.left(fromValidation('request', r.left)) : E.right(r.right)
}
