// The connection table of one endpoint: what a replacement node needs to recover it
// (spec/rfc4951-failover.md §9). Records are built field by field in a fixed order, so that
// JSON of a record is canonical and V8 shares one hidden class per record kind. Pure.
import type {
  Address,
  Bearer,
  BearerCaps,
  CallDirection,
  EndpointId,
  Epoch,
  FailoverCapability,
  Framing,
  FramingCaps,
  Millis,
  NodeId,
  Originator,
  Role,
  Seq,
  SessionEstablished,
  SessionId,
  TunnelEstablished,
  TunnelId,
} from '../../contracts/index.js'

export interface SessionRecord {
  readonly localSessionId: SessionId
  readonly remoteSessionId: SessionId
  readonly callSerial: number
  readonly direction: CallDirection
  readonly framing: Framing
  readonly bearer: Bearer | null
  readonly txConnectSpeed: number
  readonly rxConnectSpeed: number | null
  readonly callingNumber: string | null
  readonly calledNumber: string | null
  readonly physicalChannelId: number | null
  readonly sequencing: boolean
  readonly establishedAt: Millis
}

export interface TunnelRecord {
  readonly localTunnelId: TunnelId
  readonly remoteTunnelId: TunnelId
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
  readonly establishedAt: Millis
  /** RFC 4951 recovery in progress (TunnelRecoveryStarted seen, not yet finished). */
  recovering: boolean
  recoveries: number
  lastRecoveredAt: Millis | null
  /**
   * Session ids released lately (closed or cleared), oldest first, at most RELEASED_KEPT: a
   * replacement node hands out new ids least recently used after a failover (RFC 4951 §5.9).
   */
  readonly releasedSessionIds: SessionId[]
  /** Established sessions by local Session ID. */
  readonly sessions: Map<number, SessionRecord>
}

/**
 * How many released session ids a tunnel record keeps: the ones a peer may still believe in are
 * those released just before a failure. 16 keeps snapshot + tail rehydration of 8,000 tunnels
 * as fast as without them (256 cost a third more: bench rehydrate).
 */
export const RELEASED_KEPT = 16

/** Where the seq rule found a hole: events between expected and got never arrived. */
export interface Gap {
  readonly epoch: Epoch
  readonly expected: number
  readonly got: Seq
}

/** Diagnostics of the fold; kept in snapshots, left out of the connection-table comparison. */
export interface Counters {
  duplicates: number
  staleRejected: number
  anomalies: number
  gaps: number
}

export interface EndpointTable {
  readonly endpointId: EndpointId
  epoch: Epoch
  /** Last applied seq within `epoch` (0 before the first event of the epoch). */
  seq: number
  owner: NodeId | null
  active: boolean
  role: Role | null
  hostName: string | null
  address: Address | null
  /** False once a seq gap was seen: the table may miss events (DESIGN.md §4). */
  consistent: boolean
  lastGap: Gap | null
  lastEventAt: Millis | null
  readonly counters: Counters
  readonly tunnels: Map<number, TunnelRecord>
}

export const emptyTable = (endpointId: EndpointId): EndpointTable => ({
  endpointId,
  epoch: 0 as Epoch,
  seq: 0,
  owner: null,
  active: false,
  role: null,
  hostName: null,
  address: null,
  consistent: true,
  lastGap: null,
  lastEventAt: null,
  counters: { duplicates: 0, staleRejected: 0, anomalies: 0, gaps: 0 },
  tunnels: new Map(),
})

export const address = (a: Address): Address => ({ host: a.host, port: a.port })
const framingCaps = (f: FramingCaps): FramingCaps => ({ sync: f.sync, async: f.async })
const bearerCaps = (b: BearerCaps): BearerCaps => ({ digital: b.digital, analog: b.analog })
const failover = (f: FailoverCapability | null): FailoverCapability | null =>
  f === null ? null : { control: f.control, data: f.data, recoveryTimeMs: f.recoveryTimeMs }

type SessionFields = Omit<
  SessionEstablished,
  'type' | 'v' | 'endpointId' | 'epoch' | 'seq' | 'nodeId' | 'at' | 'localTunnelId'
>

export const sessionRecord = (e: SessionFields, establishedAt: Millis): SessionRecord => ({
  localSessionId: e.localSessionId,
  remoteSessionId: e.remoteSessionId,
  callSerial: e.callSerial,
  direction: e.direction,
  framing: e.framing,
  bearer: e.bearer,
  txConnectSpeed: e.txConnectSpeed,
  rxConnectSpeed: e.rxConnectSpeed,
  callingNumber: e.callingNumber,
  calledNumber: e.calledNumber,
  physicalChannelId: e.physicalChannelId,
  sequencing: e.sequencing,
  establishedAt,
})

type TunnelFields = Omit<TunnelEstablished, 'type' | 'v' | 'endpointId' | 'epoch' | 'seq' | 'nodeId' | 'at'>

export const tunnelRecord = (
  e: TunnelFields,
  establishedAt: Millis,
  recovery: { recovering: boolean; recoveries: number; lastRecoveredAt: Millis | null },
  sessions: Map<number, SessionRecord> = new Map(),
  releasedSessionIds: SessionId[] = [],
): TunnelRecord => ({
  localTunnelId: e.localTunnelId,
  remoteTunnelId: e.remoteTunnelId,
  local: address(e.local),
  peer: address(e.peer),
  role: e.role,
  originator: e.originator,
  localHostName: e.localHostName,
  peerHostName: e.peerHostName,
  peerVendorName: e.peerVendorName,
  peerFirmwareRevision: e.peerFirmwareRevision,
  peerFraming: framingCaps(e.peerFraming),
  peerBearer: bearerCaps(e.peerBearer),
  localReceiveWindow: e.localReceiveWindow,
  peerReceiveWindow: e.peerReceiveWindow,
  localFailover: failover(e.localFailover),
  peerFailover: failover(e.peerFailover),
  authenticated: e.authenticated,
  secretRef: e.secretRef,
  establishedAt,
  recovering: recovery.recovering,
  recoveries: recovery.recoveries,
  lastRecoveredAt: recovery.lastRecoveredAt,
  releasedSessionIds,
  sessions,
})

export const sessionCount = (t: EndpointTable): number => {
  let n = 0
  for (const tunnel of t.tunnels.values()) n += tunnel.sessions.size
  return n
}
