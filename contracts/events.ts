// Lifecycle events on l2tp.events (DESIGN.md §3): envelope + one codec per event type, current
// versions only. Older versions and their upcasts live in event-decode.ts. Pure.
import * as t from 'io-ts'
import { Address, EndpointId, Epoch, Millis, NodeId, Seq, SessionId, TunnelId } from './ids.js'
import {
  Bearer,
  BearerCaps,
  CallDirection,
  ClosedBy,
  Count,
  FailoverCapability,
  Framing,
  FramingCaps,
  nullable,
  Originator,
  Q931Cause,
  Role,
  U16,
  U32,
  WindowSize,
} from './parts.js'

/** Fields every event carries. Order comes from (epoch, seq) and the Kafka offset, never `at`. */
export const envelope = {
  endpointId: EndpointId,
  epoch: Epoch,
  seq: Seq,
  at: Millis,
  nodeId: NodeId,
}

const event = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.type({ type: t.literal(type), v: t.literal(1), ...envelope, ...props }, type)

const eventV2 = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.type({ type: t.literal(type), v: t.literal(2), ...envelope, ...props }, type)

/** A node became the owner of the endpoint for `epoch` and serves it on `address`. */
export const EndpointActivated = event('EndpointActivated', {
  address: Address,
  role: Role,
  hostName: t.string,
})

/** The owner gave the endpoint up (planned switchover, shutdown, lost lease). */
export const EndpointReleased = event('EndpointReleased', { reason: t.string })

/** A control connection reached established (SCCCN sent or received, RFC 2661 §7.2). */
/** What an established tunnel is (shared with the snapshot's TunnelView). */
export const tunnelProps = {
  localTunnelId: TunnelId,
  remoteTunnelId: TunnelId,
  local: Address,
  peer: Address,
  role: Role,
  originator: Originator,
  localHostName: t.string,
  peerHostName: t.string,
  peerVendorName: nullable(t.string),
  peerFirmwareRevision: nullable(U16),
  peerFraming: FramingCaps,
  peerBearer: BearerCaps,
  localReceiveWindow: WindowSize,
  peerReceiveWindow: WindowSize,
  localFailover: nullable(FailoverCapability),
  peerFailover: nullable(FailoverCapability),
  authenticated: t.boolean,
  /** Which configured secret authenticated the tunnel, by name; never the secret itself. */
  secretRef: nullable(t.string),
}

export const TunnelEstablished = event('TunnelEstablished', tunnelProps)

/** A control connection ended (StopCCN sent/received, or the peer stopped answering). */
export const TunnelClosed = event('TunnelClosed', {
  localTunnelId: TunnelId,
  resultCode: U16,
  errorCode: nullable(U16),
  message: nullable(t.string),
  closedBy: ClosedBy,
})

/**
 * A call reached established (ICCN / OCCN sent or received, RFC 2661 §7.4, §7.5).
 * v2: TX and RX connect speeds are separate (AVP 24 and AVP 38); v1 had one `connectSpeed`.
 */
/** What an established session is (shared with the snapshot's SessionView). */
export const sessionProps = {
  localSessionId: SessionId,
  remoteSessionId: SessionId,
  callSerial: U32,
  direction: CallDirection,
  framing: Framing,
  bearer: nullable(Bearer),
  txConnectSpeed: U32,
  rxConnectSpeed: nullable(U32),
  callingNumber: nullable(t.string),
  calledNumber: nullable(t.string),
  physicalChannelId: nullable(U32),
  sequencing: t.boolean,
}

export const SessionEstablished = eventV2('SessionEstablished', { localTunnelId: TunnelId, ...sessionProps })

/** A call ended (CDN sent or received, or its tunnel went away). */
export const SessionClosed = event('SessionClosed', {
  localTunnelId: TunnelId,
  localSessionId: SessionId,
  resultCode: U16,
  errorCode: nullable(U16),
  message: nullable(t.string),
  q931: nullable(Q931Cause),
  closedBy: ClosedBy,
})

/** RFC 4951 recovery of an established tunnel began (recovery SCCRQ sent or received). */
export const TunnelRecoveryStarted = event('TunnelRecoveryStarted', {
  localTunnelId: TunnelId,
  recoveryTunnelId: nullable(TunnelId),
})

/** RFC 4951 recovery completed: control channel reset with the suggested Ns/Nr (AVP 78). */
export const TunnelRecovered = event('TunnelRecovered', {
  localTunnelId: TunnelId,
  recoveryTunnelId: TunnelId,
  suggestedNs: U16,
  suggestedNr: U16,
  sessionsKept: Count,
  sessionsCleared: Count,
  durationMs: Count,
})

/** RFC 4951 recovery failed; the tunnel and its sessions are gone. */
export const TunnelRecoveryFailed = event('TunnelRecoveryFailed', {
  localTunnelId: TunnelId,
  reason: t.string,
  durationMs: Count,
})

/** Session state synchronisation (FSQ/FSR, RFC 4951 §3.3) cleared these sessions. */
export const SessionsReconciled = event('SessionsReconciled', {
  localTunnelId: TunnelId,
  clearedSessionIds: t.array(SessionId),
  kept: Count,
})

/** A tunnel or session set-up was refused (forensics: failed challenge, bad AVP, outbox full). */
export const SetupRejected = event('SetupRejected', {
  peer: Address,
  stage: t.keyof({ tunnel: null, session: null }),
  reason: t.string,
  resultCode: nullable(U16),
  errorCode: nullable(U16),
  localTunnelId: nullable(TunnelId),
})

/** An operator command was applied or refused (audit). */
export const CommandApplied = event('CommandApplied', {
  command: t.string,
  subject: t.string,
  issuer: t.string,
  result: t.keyof({ applied: null, rejected: null }),
  detail: nullable(t.string),
  localTunnelId: nullable(TunnelId),
  localSessionId: nullable(SessionId),
})

/** Every current event codec, by type. t.union indexes the shared `type` literal. */
export const L2tpEvent = t.union([
  EndpointActivated,
  EndpointReleased,
  TunnelEstablished,
  TunnelClosed,
  SessionEstablished,
  SessionClosed,
  TunnelRecoveryStarted,
  TunnelRecovered,
  TunnelRecoveryFailed,
  SessionsReconciled,
  SetupRejected,
  CommandApplied,
])
export type L2tpEvent = t.TypeOf<typeof L2tpEvent>
export type EventType = L2tpEvent['type']

export type EndpointActivated = t.TypeOf<typeof EndpointActivated>
export type EndpointReleased = t.TypeOf<typeof EndpointReleased>
export type TunnelEstablished = t.TypeOf<typeof TunnelEstablished>
export type TunnelClosed = t.TypeOf<typeof TunnelClosed>
export type SessionEstablished = t.TypeOf<typeof SessionEstablished>
export type SessionClosed = t.TypeOf<typeof SessionClosed>
export type TunnelRecoveryStarted = t.TypeOf<typeof TunnelRecoveryStarted>
export type TunnelRecovered = t.TypeOf<typeof TunnelRecovered>
export type TunnelRecoveryFailed = t.TypeOf<typeof TunnelRecoveryFailed>
export type SessionsReconciled = t.TypeOf<typeof SessionsReconciled>
export type SetupRejected = t.TypeOf<typeof SetupRejected>
export type CommandApplied = t.TypeOf<typeof CommandApplied>

/** Exact codecs by type, for encoding: private or unknown fields never leak onto the log. */
export const exactEventCodecs = {
  EndpointActivated: t.exact(EndpointActivated),
  EndpointReleased: t.exact(EndpointReleased),
  TunnelEstablished: t.exact(TunnelEstablished),
  TunnelClosed: t.exact(TunnelClosed),
  SessionEstablished: t.exact(SessionEstablished),
  SessionClosed: t.exact(SessionClosed),
  TunnelRecoveryStarted: t.exact(TunnelRecoveryStarted),
  TunnelRecovered: t.exact(TunnelRecovered),
  TunnelRecoveryFailed: t.exact(TunnelRecoveryFailed),
  SessionsReconciled: t.exact(SessionsReconciled),
  SetupRejected: t.exact(SetupRejected),
  CommandApplied: t.exact(CommandApplied),
} as const
