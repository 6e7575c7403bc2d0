// State, inputs and effects of the L2TP endpoint engine (tunnels + sessions, RFC 2661 §7).
// Sans-IO: datagrams, timers and commands go in; datagrams, events and timer requests come out.
import type { Address, EventBody, RefusalReason } from '../../contracts/index.js'
import type { EndpointTable } from '../../registry/index.js'
import type { Channel, ChannelConfig } from '../control/channel.js'
import type { AvpField, BearerBits, FailoverCapability, FramingBits } from '../wire/index.js'
import type { HostIndex } from './host-index.js'

/** Randomness comes in from the shell (crypto) or a test (seeded). */
export interface Rng {
  readonly bytes: (n: number) => Uint8Array
}

export interface SecretRef {
  readonly ref: string
  readonly secret: Uint8Array
}

/** Admissions per second and how many may come at once (a token bucket, admission.ts). */
export interface Rate {
  readonly perSecond: number
  readonly burst: number
}

export interface Bucket {
  tokens: number
  at: number
  readonly rate: Rate
}

export interface EngineConfig {
  readonly role: 'LAC' | 'LNS'
  readonly hostName: string
  readonly vendorName: string
  readonly firmwareRevision: number
  /** The shared secret for a peer, by its host name (null before SCCRQ names it). */
  readonly secretFor: (peerHostName: string | null) => SecretRef | null
  /** Challenge every peer (RFC 2661 §5.1.1); needs a secret for the peer. */
  readonly challenge: boolean
  /** AVPs we hide when a secret exists (RFC 2661 §4.3). */
  readonly hide: ReadonlySet<AvpField>
  readonly framing: FramingBits
  readonly bearer: BearerBits
  /** Failover Capability we advertise (RFC 4951 §5.1), or null for none. */
  readonly failover: FailoverCapability | null
  readonly channel: ChannelConfig
  /** How long closed tunnels keep re-acking (RFC 2661 §5.7: a full retransmission cycle, 31 s). */
  readonly lingerMs: number
  /** Sessions per tunnel we accept (refuse beyond with CDN 4). */
  readonly maxSessionsPerTunnel: number
  /** Start refusing new tunnels and sessions, as if drained by an operator (reason 'drain'). */
  readonly refuseNew: boolean
  /** Put a Tie Breaker in our SCCRQs: one tunnel per peer when both open at once (RFC 2661 §4.4.3). */
  readonly tieBreaker?: boolean
  /** RFC 4951 §6: consecutive in-sequence "old" data packets after which a receiver adopts them. */
  readonly dataResyncPackets?: number
  /** Tunnels of every state this endpoint holds at most; a new SCCRQ beyond is refused (default 65,535). */
  readonly maxTunnels?: number
  /** Half-open tunnels (SCCRQ answered, no SCCCN yet) one source address may hold (none: no limit). */
  readonly maxHalfOpenPerSource?: number
  /** Half-open tunnels from peers the endpoint holds at most, from all sources (none: no limit). */
  readonly maxHalfOpen?: number
  /** Token buckets for new SCCRQs and ICRQs (none: unlimited); refused ones get StopCCN / CDN 2/4. */
  readonly admission?: { readonly sccrq?: Rate; readonly icrq?: Rate }
  /** A session not established within this many ms is cleared with a CDN (LAC 10, LNS 2/6) (0: never; default 60 s). */
  readonly sessionSetupMs?: number
}

export type TunnelState = 'wait-ctl-reply' | 'wait-ctl-conn' | 'established' | 'closing'

export type SessionState = 'wait-tunnel' | 'wait-reply' | 'wait-connect' | 'established'

export interface Session {
  readonly localId: number
  peerId: number
  state: SessionState
  readonly direction: 'incoming' | 'outgoing'
  readonly callSerial: number
  bearer: 'digital' | 'analog' | null
  framing: 'sync' | 'async'
  txConnectSpeed: number
  rxConnectSpeed: number | null
  callingNumber: string | null
  calledNumber: string | null
  physicalChannelId: number | null
  sequencing: boolean
  /** Last WEN counters and SLI ACCM received (RFC 2661 §6.14, §6.15). */
  wanErrors: number
  accm: { send: number; receive: number } | null
  /** A LAC's copy of the LNS's data sequencing choice (RFC 2661 §5.4). */
  mirrorSequencing: boolean
  /** Data channel (RFC 2661 §5.4): next Ns we send, next Ns we expect (null: none yet). */
  dataNs: number
  dataNr: number | null
  /** Consecutive in-sequence packets behind dataNr seen, and the Ns that would continue them (FO-51). */
  oldRun: number
  oldNext: number
  /** RFC 4951 §5.9: paired with another remote id in a peer's FSQ; we query it ourselves (FO-44). */
  stale?: boolean
  /** While being set up: when its set-up times out (admission.ts). */
  setupBy?: number
}

export interface Tunnel {
  readonly localId: number
  readonly peer: Address
  state: TunnelState
  readonly originator: 'local' | 'peer'
  readonly channel: Channel
  peerHostName: string
  peerVendorName: string | null
  peerFirmwareRevision: number | null
  peerFraming: FramingBits
  peerBearer: BearerBits
  peerWindow: number
  peerFailover: FailoverCapability | null
  /** Our challenge, awaiting the peer's response (RFC 2661 §5.1.1). */
  ourChallenge: Uint8Array | null
  /** Earliest set-up deadline of its sessions still being set up (admission.ts), if any. */
  setupCheckAt?: number | null
  /** The Tie Breaker we sent in our SCCRQ (RFC 2661 §4.4.3), if any. */
  ourTieBreaker?: Uint8Array | null
  /** The peer's Assigned Tunnel ID, once known. */
  peerAssignedId: number
  authenticated: boolean
  secret: SecretRef | null
  readonly sessions: Map<number, Session>
  /** closing: when to forget the tunnel (linger end). */
  forgetAt: number | null
  establishedReported: boolean
  /** A peer-originated tunnel: a print of the SCCRQ that opened it, to tell retransmissions apart. */
  sccrqPrint?: number
  /** RFC 4951: set on a recovery tunnel, the local id of the old tunnel it recovers. */
  recoveryOf: number | null
  /** RFC 4951, on an old tunnel: the recovery tunnel (ours or the peer's) working on it lately. */
  recoveryTunnel: number | null
  /** RFC 4951: an old tunnel whose control channel awaits its reset; its control packets are discarded (§5.8). */
  recovering: boolean
  /** Remote-endpoint role: the failed peer is silent; keep the tunnel until this time (§5.2). */
  recoveryDeadline: number | null
  /** Remote-endpoint role: the Suggested Control Sequence we sent on the recovery tunnel. */
  suggested: { ns: number; nr: number } | null
  recoveryStartedAt: number | null
  /** RFC 4951 §5.9: our sessions queried by FSQ and not answered yet; sync is complete when empty. */
  unsynced?: Set<number>
  /** Session ids released lately, oldest first: new ids avoid them (least recently used, FO-48). */
  released?: { readonly order: number[]; readonly set: Set<number> }
}

export interface Engine {
  readonly config: EngineConfig
  readonly local: Address
  readonly tunnels: Map<number, Tunnel>
  /** `${host}:${port}/${peerTunnelId}` -> local id: a retransmitted SCCRQ finds its tunnel. */
  readonly byPeer: Map<string, number>
  /**
   * Our own SCCRQs awaiting a reply, by peer host: the Tie Breaker's rivals (RFC 2661 §4.4.3),
   * found without a scan of every tunnel (host-index.ts).
   */
  readonly opening: HostIndex
  /** Peers' half-open tunnels by source host, when maxHalfOpenPerSource is set (admission.ts). */
  readonly halfOpen: HostIndex
  /** Every peer's half-open tunnel, when maxHalfOpen is set; pruned lazily (admission.ts). */
  readonly halfOpenAll: { readonly tunnels: Set<Tunnel>; prunedAt: number }
  nextCallSerial: number
  /**
   * Why new tunnels and sessions are refused (operator drain, outbox pressure, release,
   * shutdown): each reason is set and lifted on its own (SetRefuseNew), so one never cancels
   * another. Starts with 'drain' when the config says refuseNew.
   */
  readonly refusing: Set<RefusalReason>
  /** Any reason holds (kept in step with `refusing`; read on every SCCRQ, ICRQ and OCRQ). */
  refuseNew: boolean
  /**
   * Old tunnels queued for RFC 4951 recovery, by local id: no new tunnel may take their ids
   * (FO-11), and a peer that is itself a recovery endpoint may recover one first (§5.6).
   */
  readonly pending: Map<number, RecoverableTunnel>
  /** Tunnels of a previous owner that cannot be recovered: their peer gets a StopCCN when it speaks. */
  readonly tombstones: Map<number, { readonly peer: Address; readonly remoteTunnelId: number }>
  readonly stats: EngineStats
  /** The SCCRQ and ICRQ token buckets (null: unlimited). */
  readonly admission: { readonly sccrq: Bucket | null; readonly icrq: Bucket | null }
}

export type { RefusalReason }

/** SetupRejected reasons of the refusals the shell counts (drain, outbox pressure, session limit). */
export const REFUSED = {
  tunnel: 'not accepting new tunnels',
  session: 'not accepting new sessions',
  sessionLimit: 'session limit of the tunnel reached',
} as const

export interface EngineStats {
  datagrams: number
  discarded: number
  malformed: number
  violations: number
  wen: number
  sli: number
  dataMessages: number
  /** Data messages delivered to a session, and those dropped (no session, out of sequence). */
  dataDelivered: number
  dataDropped: number
  /** AVPs that arrived hidden and were un-hidden (RFC 2661 §4.3). */
  hiddenReceived: number
  /** Overload refusals (admission.ts): tunnel cap, SCCRQ and ICRQ rates; set-ups that timed out. */
  refusedTunnelCap: number
  refusedHalfOpen: number
  refusedSccrqRate: number
  refusedIcrqRate: number
  sessionSetupTimeouts: number
}

/** An event without its envelope (contracts/event-builders.ts); the shell adds the envelope. */
export type { EventBody }

export interface OpenSessionParams {
  readonly callingNumber?: string
  readonly calledNumber?: string
  readonly txConnectSpeed?: number
  /** Ask for data sequence numbers (Sequencing Required in ICCN/OCCN, RFC 2661 §4.4.6). */
  readonly sequencing?: boolean
}

export type Input =
  | { readonly _tag: 'Datagram'; readonly from: Address; readonly bytes: Uint8Array }
  | { readonly _tag: 'Timer'; readonly tunnelId: number }
  | { readonly _tag: 'OpenTunnel'; readonly peer: Address }
  | {
      readonly _tag: 'OpenSession'
      readonly tunnelId: number
      readonly direction: 'incoming' | 'outgoing'
      readonly params?: OpenSessionParams
    }
  | {
      readonly _tag: 'CloseSession'
      readonly tunnelId: number
      readonly sessionId: number
      readonly resultCode: number
      readonly reason: string | null
    }
  | {
      readonly _tag: 'CloseTunnel'
      readonly tunnelId: number
      readonly resultCode: number
      readonly reason: string | null
      /** Who closes, for TunnelClosed.closedBy: an operator's command (default) or this node itself (shutdown). */
      readonly closedBy?: 'operator' | 'local'
    }
  /** RFC 4951 §5.9 Step II: FSQ for every established session of the tunnel. */
  | { readonly _tag: 'QuerySessions'; readonly tunnelId: number }
  /** A PPP frame to send on an established session (data channel, RFC 2661 §5.4). */
  | {
      readonly _tag: 'SendData'
      readonly tunnelId: number
      readonly sessionId: number
      readonly payload: Uint8Array
    }
  /** Refuse (on) or stop refusing (off) new tunnels and sessions for one reason (RFC 2661 §4.4.2: StopCCN 2 / CDN 4). */
  | { readonly _tag: 'SetRefuseNew'; readonly reason: RefusalReason; readonly on: boolean }
  /**
   * This engine takes the endpoint over under `epoch` from the table rehydrated from the log:
   * EndpointActivated, TunnelClosed for the tunnels that cannot be recovered, recoveries queued.
   */
  | { readonly _tag: 'TakeOver'; readonly table: EndpointTable; readonly epoch: number }
  /** Starts up to `max` queued recoveries (the shell paces a takeover's recoveries with it). */
  | { readonly _tag: 'RecoverQueued'; readonly max: number }
  /** RFC 4951 recovery-endpoint role: recover an established tunnel of a rehydrated table. */
  | { readonly _tag: 'Recover'; readonly tunnel: RecoverableTunnel }
  /** Old tunnels whose recovery will start later (paced): their ids are reserved meanwhile. */
  | { readonly _tag: 'QueueRecovery'; readonly tunnels: readonly RecoverableTunnel[] }
  | {
      readonly _tag: 'Bury'
      readonly tunnels: ReadonlyArray<{
        readonly localTunnelId: number
        readonly remoteTunnelId: number
        readonly peer: Address
      }>
    }

export type Effect =
  | { readonly _tag: 'Send'; readonly to: Address; readonly bytes: Uint8Array }
  | { readonly _tag: 'Emit'; readonly event: EventBody }
  /** Run a Timer input for this tunnel at `at` (replacing any earlier time). */
  | { readonly _tag: 'Arm'; readonly tunnelId: number; readonly at: number }
  /** The tunnel needs no timer (it is gone, or nothing is due). */
  | { readonly _tag: 'Disarm'; readonly tunnelId: number }
  | { readonly _tag: 'TunnelUp'; readonly tunnelId: number }
  | { readonly _tag: 'TunnelDown'; readonly tunnelId: number; readonly reason: string }
  | { readonly _tag: 'SessionUp'; readonly tunnelId: number; readonly sessionId: number }
  | {
      readonly _tag: 'SessionDown'
      readonly tunnelId: number
      readonly sessionId: number
      readonly reason: string
    }
  /** A data message's payload (a PPP frame) for the session's PPP side. */
  | {
      readonly _tag: 'Deliver'
      readonly tunnelId: number
      readonly sessionId: number
      readonly payload: Uint8Array
    }
  /** A takeover was applied: tunnels of the table, recoverable ones, closed in the log, queued now. */
  | {
      readonly _tag: 'TakenOver'
      readonly epoch: number
      readonly rehydrated: number
      readonly recoverable: number
      readonly closed: number
      readonly queued: number
    }
  /** A datagram that was dropped, and why (counted; logged by the shell at debug). */
  | { readonly _tag: 'Dropped'; readonly reason: string }

/** What the recovery endpoint needs of an old tunnel (rfc4951-failover.md §9), from the registry table. */
export interface RecoverableTunnel {
  readonly localTunnelId: number
  readonly remoteTunnelId: number
  readonly peer: Address
  readonly peerHostName: string
  readonly authenticated: boolean
  readonly peerWindow: number
  readonly peerFailover: FailoverCapability | null
  readonly peerFraming: FramingBits
  readonly peerBearer: BearerBits
  /** Session ids the previous owner released lately, oldest first (FO-48 after a failover). */
  readonly releasedSessionIds?: readonly number[]
  readonly sessions: ReadonlyArray<{
    readonly localSessionId: number
    readonly remoteSessionId: number
    readonly callSerial: number
    readonly direction: 'incoming' | 'outgoing'
    readonly sequencing: boolean
  }>
}
