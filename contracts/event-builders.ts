// One builder per event (STYLE.md §11): each returns the exact variant without its envelope, ids
// branded, so tsc rejects a missing, misspelled or mistyped field where an event is emitted.
// The writer adds the envelope (withEnvelope). Ids come from code that picked or range-checked
// them (the engine's 1..65535 ids, the wire decoder). Pure.
import type { EventType, L2tpEvent } from './events.js'
import {
  type Address,
  type EndpointId,
  type Epoch,
  type Millis,
  type NodeId,
  type Seq,
  unsafe,
} from './ids.js'
import type {
  BearerCaps,
  CallDirection,
  ClosedBy,
  FailoverCapability,
  Framing,
  FramingCaps,
  Originator,
  Role,
} from './parts.js'

/** The fields every event carries; the shell that writes the log fills them in. */
export interface Envelope {
  readonly endpointId: EndpointId
  readonly epoch: Epoch
  readonly seq: Seq
  readonly at: Millis
  readonly nodeId: NodeId
}

type EnvelopeKey = keyof Envelope
type BodyOf<T> = T extends unknown ? Omit<T, EnvelopeKey> : never
/** An event without its envelope: `EventBody<'TunnelClosed'>` is exactly that variant's body. */
export type EventBody<K extends EventType = EventType> = BodyOf<Extract<L2tpEvent, { readonly type: K }>>

/** Body plus envelope: the event as it goes on the log. */
// Object.assign into a fresh object, not a spread: a spread of a ~20-field body followed by the
// envelope's fields leaves V8 a slow (dictionary) object, 10-20 µs to build and slow to read in
// evolve; this builds the same keys in the same order (docs/decisions.md, set-up path).
export const withEnvelope = (body: EventBody, env: Envelope): L2tpEvent => Object.assign({}, body, env)

const tid = unsafe.tunnelId
const sid = unsafe.sessionId
const nullableTid = (n: number | null) => (n === null ? null : tid(n))

export interface EndpointFacts {
  readonly address: Address
  readonly role: Role
  readonly hostName: string
}

/** The node became the owner of the endpoint (first event of its epoch). */
export const endpointActivated = (f: EndpointFacts): EventBody<'EndpointActivated'> => ({
  type: 'EndpointActivated',
  v: 1,
  address: f.address,
  role: f.role,
  hostName: f.hostName,
})

/** The owner gave the endpoint up (switchover, shutdown, lost lease). */
export const endpointReleased = (reason: string): EventBody<'EndpointReleased'> => ({
  type: 'EndpointReleased',
  v: 1,
  reason,
})

export interface TunnelFacts {
  readonly localTunnelId: number
  readonly remoteTunnelId: number
  readonly local: Address
  readonly peer: Address
  readonly role: Role
  readonly originator: Originator
  readonly localHostName: string
  readonly peerHostName: string
  readonly peerVendorName: string | null
  readonly peerFirmwareRevision: number | null
  readonly peerFraming: FramingCaps
  readonly peerBearer: BearerCaps
  readonly localReceiveWindow: number
  readonly peerReceiveWindow: number
  readonly localFailover: FailoverCapability | null
  readonly peerFailover: FailoverCapability | null
  readonly authenticated: boolean
  readonly secretRef: string | null
}

/** A control connection reached established (RFC 2661 §7.2). */
export const tunnelEstablished = (f: TunnelFacts): EventBody<'TunnelEstablished'> => ({
  type: 'TunnelEstablished',
  v: 1,
  ...f,
  localTunnelId: tid(f.localTunnelId),
  remoteTunnelId: tid(f.remoteTunnelId),
})

/** How a tunnel or a session ended: Result Code (and Error Code) of RFC 2661 §4.4.2, who ended it. */
export interface CloseFacts {
  readonly resultCode: number
  readonly errorCode: number | null
  readonly message: string | null
  readonly closedBy: ClosedBy
}

/** A control connection ended (StopCCN sent or received, dead peer, takeover). */
export const tunnelClosed = (localTunnelId: number, why: CloseFacts): EventBody<'TunnelClosed'> => ({
  type: 'TunnelClosed',
  v: 1,
  localTunnelId: tid(localTunnelId),
  resultCode: why.resultCode,
  errorCode: why.errorCode,
  message: why.message,
  closedBy: why.closedBy,
})

export interface SessionFacts {
  readonly localSessionId: number
  readonly remoteSessionId: number
  readonly callSerial: number
  readonly direction: CallDirection
  readonly framing: Framing
  readonly bearer: 'digital' | 'analog' | null
  readonly txConnectSpeed: number
  readonly rxConnectSpeed: number | null
  readonly callingNumber: string | null
  readonly calledNumber: string | null
  readonly physicalChannelId: number | null
  readonly sequencing: boolean
}

/** A call reached established (RFC 2661 §7.4, §7.5). */
export const sessionEstablished = (
  localTunnelId: number,
  f: SessionFacts,
): EventBody<'SessionEstablished'> => ({
  type: 'SessionEstablished',
  v: 2,
  localTunnelId: tid(localTunnelId),
  localSessionId: sid(f.localSessionId),
  remoteSessionId: sid(f.remoteSessionId),
  callSerial: f.callSerial,
  direction: f.direction,
  framing: f.framing,
  bearer: f.bearer,
  txConnectSpeed: f.txConnectSpeed,
  rxConnectSpeed: f.rxConnectSpeed,
  callingNumber: f.callingNumber,
  calledNumber: f.calledNumber,
  physicalChannelId: f.physicalChannelId,
  sequencing: f.sequencing,
})

/** Q.931 Cause Code AVP 12 (RFC 2661 §4.4.4) as the wire decoder gives it. */
export interface Q931Facts {
  readonly cause: number
  readonly msg: number
  readonly advisory: string | null
}

/** A call ended (CDN sent or received, RFC 2661 §6.11). */
export const sessionClosed = (
  localTunnelId: number,
  localSessionId: number,
  why: CloseFacts & { readonly q931: Q931Facts | null },
): EventBody<'SessionClosed'> => ({
  type: 'SessionClosed',
  v: 1,
  localTunnelId: tid(localTunnelId),
  localSessionId: sid(localSessionId),
  resultCode: why.resultCode,
  errorCode: why.errorCode,
  message: why.message,
  q931:
    why.q931 === null
      ? null
      : { cause: why.q931.cause, msg: unsafe.int(why.q931.msg), advisory: why.q931.advisory },
  closedBy: why.closedBy,
})

/** RFC 4951 §5.3/§5.4: recovery of an old tunnel began on a recovery tunnel. */
export const tunnelRecoveryStarted = (
  localTunnelId: number,
  recoveryTunnelId: number | null,
): EventBody<'TunnelRecoveryStarted'> => ({
  type: 'TunnelRecoveryStarted',
  v: 1,
  localTunnelId: tid(localTunnelId),
  recoveryTunnelId: nullableTid(recoveryTunnelId),
})

export interface RecoveredFacts {
  readonly recoveryTunnelId: number
  readonly suggestedNs: number
  readonly suggestedNr: number
  readonly sessionsKept: number
  readonly sessionsCleared: number
  readonly durationMs: number
}

/** RFC 4951 §5.5: the old tunnel's control channel was reset with the Suggested Control Sequence. */
export const tunnelRecovered = (localTunnelId: number, f: RecoveredFacts): EventBody<'TunnelRecovered'> => ({
  type: 'TunnelRecovered',
  v: 1,
  localTunnelId: tid(localTunnelId),
  recoveryTunnelId: tid(f.recoveryTunnelId),
  suggestedNs: f.suggestedNs,
  suggestedNr: f.suggestedNr,
  sessionsKept: f.sessionsKept,
  sessionsCleared: f.sessionsCleared,
  durationMs: f.durationMs,
})

/** RFC 4951 §5.3.7: recovery failed; the old tunnel and its sessions are gone. */
export const tunnelRecoveryFailed = (
  localTunnelId: number,
  reason: string,
  durationMs: number,
): EventBody<'TunnelRecoveryFailed'> => ({
  type: 'TunnelRecoveryFailed',
  v: 1,
  localTunnelId: tid(localTunnelId),
  reason,
  durationMs,
})

/** RFC 4951 §5.9: an FSR cleared these sessions; `kept` remain. */
export const sessionsReconciled = (
  localTunnelId: number,
  clearedSessionIds: readonly number[],
  kept: number,
): EventBody<'SessionsReconciled'> => ({
  type: 'SessionsReconciled',
  v: 1,
  localTunnelId: tid(localTunnelId),
  clearedSessionIds: clearedSessionIds.map(sid),
  kept,
})

export interface RejectionFacts {
  readonly peer: Address
  readonly stage: 'tunnel' | 'session'
  readonly reason: string
  readonly resultCode: number | null
  readonly errorCode: number | null
  readonly localTunnelId: number | null
}

/** A tunnel or session set-up was refused. */
export const setupRejected = (f: RejectionFacts): EventBody<'SetupRejected'> => ({
  type: 'SetupRejected',
  v: 1,
  peer: f.peer,
  stage: f.stage,
  reason: f.reason,
  resultCode: f.resultCode,
  errorCode: f.errorCode,
  localTunnelId: nullableTid(f.localTunnelId),
})

export interface AuditFacts {
  readonly command: string
  readonly subject: string
  readonly issuer: string
  readonly result: 'applied' | 'rejected'
  readonly detail: string | null
  readonly localTunnelId: number | null
  readonly localSessionId: number | null
}

/** An operator command was applied or refused (audit). */
export const commandApplied = (f: AuditFacts): EventBody<'CommandApplied'> => ({
  type: 'CommandApplied',
  v: 1,
  command: f.command,
  subject: f.subject,
  issuer: f.issuer,
  result: f.result,
  detail: f.detail,
  localTunnelId: nullableTid(f.localTunnelId),
  localSessionId: f.localSessionId === null ? null : sid(f.localSessionId),
})
