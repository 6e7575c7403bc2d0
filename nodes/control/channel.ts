// Reliable delivery of control messages for one tunnel (RFC 2661 §5.8, Appendix A): Ns/Nr,
// the peer's window with slow start, in-order delivery holding early arrivals, duplicates
// re-acked, delayed ZLB acks, retransmission with exponential backoff, HELLO, dead peer.
// Sans-IO: the caller passes `now` and sends the returned datagrams. The channel owns its state.
import { MessageType } from '../wire/constants.js'
import { type ControlMessage, encodeControl, patchNr } from '../wire/message.js'
import { acknowledges, classify, seqDiff, seqNext } from './seq.js'

export interface ChannelConfig {
  /** First retransmission timeout (RFC 2661 §5.8 recommends 1 s; L2-40). */
  readonly initialTimeoutMs: number
  /** Backoff cap; MUST NOT be below 8 s (L2-41). */
  readonly maxTimeoutMs: number
  /** Retransmissions before the peer is declared dead (default 5, configurable; L2-42). */
  readonly maxRetransmits: number
  /** Delay before a ZLB ack when nothing else is going out. */
  readonly ackDelayMs: number
  /** Idle time before a HELLO (RFC 2661 §6.5; 0 disables; L2-50). */
  readonly helloIntervalMs: number
  /** Receive Window Size we advertise: how many early messages we hold (RFC 2661 §5.8). */
  readonly receiveWindow: number
}

export const DEFAULT_CHANNEL: ChannelConfig = {
  initialTimeoutMs: 1000,
  maxTimeoutMs: 8000,
  maxRetransmits: 5,
  ackDelayMs: 50,
  helloIntervalMs: 60_000,
  receiveWindow: 16,
}

/** Builds the bytes of a message once its Ns and Nr are known. */
export type Encoder = (ns: number, nr: number) => Uint8Array

interface InFlight {
  readonly ns: number
  readonly bytes: Uint8Array
}

export interface Channel {
  readonly config: ChannelConfig
  /** The peer's Tunnel ID for our headers (0 until its Assigned Tunnel ID is known). */
  peerTunnelId: number
  /** Next Ns to send (RFC 2661 §5.8). */
  ns: number
  /** Next Ns expected from the peer. */
  nr: number
  peerWindow: number
  cwnd: number
  ssthresh: number
  acked: number
  readonly inFlight: InFlight[]
  readonly backlog: Encoder[]
  readonly early: Map<number, ControlMessage>
  rtoMs: number
  retries: number
  retransmitAt: number | null
  ackAt: number | null
  lastHeardAt: number
  /** When the retransmission timer last started with nothing outstanding before (RFC 4951 §5.2). */
  silentSince: number | null
  /** Set once retransmissions are exhausted: the tunnel must be cleared (L2-42). */
  dead: boolean
}

export const openChannel = (config: ChannelConfig, now: number, peerWindow = 4): Channel => ({
  config,
  peerTunnelId: 0,
  ns: 0,
  nr: 0,
  peerWindow,
  cwnd: 1,
  ssthresh: peerWindow,
  acked: 0,
  inFlight: [],
  backlog: [],
  early: new Map(),
  rtoMs: config.initialTimeoutMs,
  retries: 0,
  retransmitAt: null,
  ackAt: null,
  lastHeardAt: now,
  silentSince: null,
  dead: false,
})

/** Sets the window the peer advertised (absent: 4; RFC 2661 §4.4.3) and restarts slow start. */
export const setPeerWindow = (ch: Channel, window: number): void => {
  ch.peerWindow = window
  ch.ssthresh = window
  ch.cwnd = Math.min(ch.cwnd, window)
}

const windowOpen = (ch: Channel): boolean => ch.inFlight.length < Math.min(ch.cwnd, ch.peerWindow)

/** Transmits what the window allows from the backlog; returns the datagrams. */
const flush = (ch: Channel, now: number, out: Uint8Array[]): void => {
  while (ch.backlog.length > 0 && windowOpen(ch)) {
    const encode = ch.backlog.shift() as Encoder
    const bytes = encode(ch.ns, ch.nr)
    // The Send effect gets `bytes`; the retransmit queue keeps its own copy (no aliasing).
    ch.inFlight.push({ ns: ch.ns, bytes: bytes.slice() })
    ch.ns = seqNext(ch.ns)
    out.push(bytes)
    ch.ackAt = null // the Nr rides on this message (piggyback ack)
    if (ch.retransmitAt === null) {
      ch.retransmitAt = now + ch.rtoMs
      ch.silentSince = now
    }
  }
}

/** Queues a message for reliable delivery; returns what can go out now (L2-43: never past the window). */
export const send = (ch: Channel, encode: Encoder, now: number): Uint8Array[] => {
  const out: Uint8Array[] = []
  if (ch.dead) return out
  ch.backlog.push(encode)
  flush(ch, now, out)
  return out
}

/** Removes acknowledged messages; on progress resets the backoff and grows the window (App. A). */
const processAck = (ch: Channel, nr: number, now: number): void => {
  let removed = 0
  while (ch.inFlight.length > 0 && acknowledges(nr, (ch.inFlight[0] as InFlight).ns)) {
    ch.inFlight.shift()
    removed++
  }
  if (removed === 0) return
  ch.retries = 0
  ch.rtoMs = ch.config.initialTimeoutMs
  ch.retransmitAt = ch.inFlight.length > 0 ? now + ch.rtoMs : null
  ch.silentSince = ch.inFlight.length > 0 ? now : null
  for (let i = 0; i < removed; i++) {
    if (ch.cwnd < ch.ssthresh) ch.cwnd++
    else if (++ch.acked >= ch.cwnd) {
      ch.acked = 0
      ch.cwnd++
    }
  }
  ch.cwnd = Math.min(ch.cwnd, ch.peerWindow)
}

export interface Received {
  /** Messages for the upper layer, in order, without duplicates (L2-36, L2-38). */
  readonly deliver: ControlMessage[]
  readonly out: Uint8Array[]
}

/** Takes one received control message (or ZLB). */
export const receive = (ch: Channel, msg: ControlMessage, now: number): Received => {
  const out: Uint8Array[] = []
  const deliver: ControlMessage[] = []
  ch.lastHeardAt = now
  processAck(ch, msg.nr, now)
  if (msg.type !== null) {
    const arrival = classify(msg.ns, ch.nr)
    if (arrival === 'expected') {
      deliver.push(msg)
      ch.nr = seqNext(ch.nr)
      for (let next = ch.early.get(ch.nr); next !== undefined; next = ch.early.get(ch.nr)) {
        ch.early.delete(ch.nr)
        deliver.push(next)
        ch.nr = seqNext(ch.nr)
      }
      scheduleAck(ch, now)
    } else if (arrival === 'duplicate') {
      scheduleAck(ch, now) // our ack was probably lost: it MUST be acknowledged again (L2-36)
    } else if (seqDiff(msg.ns, ch.nr) < ch.config.receiveWindow) {
      ch.early.set(msg.ns, msg) // held for in-order delivery (L2-38)
    }
  }
  // A received ZLB never advances Nr and is never answered with a ZLB (L2-35, L2-65).
  flush(ch, now, out)
  return { deliver, out }
}

const scheduleAck = (ch: Channel, now: number): void => {
  if (ch.ackAt === null) ch.ackAt = now + ch.config.ackDelayMs
}

/** A ZLB: header only, current Ns (not consumed) and Nr (L2-34). */
export const zlb = (ch: Channel): Uint8Array =>
  encodeControl({ tunnelId: ch.peerTunnelId, sessionId: 0, ns: ch.ns, nr: ch.nr, type: null, avps: {} })

export interface Tick {
  readonly out: Uint8Array[]
  /** True on the tick that exhausted the retransmissions (the tunnel must be cleared). */
  readonly died: boolean
}

/** Runs due timers: retransmission (same Ns, current Nr; L2-39), delayed ack, HELLO. */
export const tick = (ch: Channel, now: number): Tick => {
  const out: Uint8Array[] = []
  if (ch.dead) return { out, died: false }
  if (ch.retransmitAt !== null && now >= ch.retransmitAt) {
    const head = ch.inFlight[0]
    if (head === undefined) ch.retransmitAt = null
    else if (ch.retries >= ch.config.maxRetransmits) {
      ch.dead = true
      ch.retransmitAt = null
      ch.ackAt = null
      return { out, died: true }
    } else {
      ch.retries++
      // A patched copy: the bytes of an earlier Send effect are never changed under the shell.
      const again = head.bytes.slice()
      patchNr(again, ch.nr)
      out.push(again)
      ch.ackAt = null
      ch.rtoMs = Math.min(ch.rtoMs * 2, Math.max(ch.config.maxTimeoutMs, 8000))
      ch.retransmitAt = now + ch.rtoMs
      ch.ssthresh = Math.max(1, Math.floor(ch.cwnd / 2))
      ch.cwnd = 1
      ch.acked = 0
    }
  }
  if (ch.ackAt !== null && now >= ch.ackAt) {
    ch.ackAt = null
    out.push(zlb(ch))
  }
  if (helloDue(ch, now)) {
    const hello: Encoder = (ns, nr) =>
      encodeControl({ tunnelId: ch.peerTunnelId, sessionId: 0, ns, nr, type: MessageType.HELLO, avps: {} })
    out.push(...send(ch, hello, now))
  }
  return { out, died: false }
}

const helloDue = (ch: Channel, now: number): boolean =>
  ch.config.helloIntervalMs > 0 &&
  ch.peerTunnelId !== 0 &&
  ch.inFlight.length === 0 &&
  ch.backlog.length === 0 &&
  now - ch.lastHeardAt >= ch.config.helloIntervalMs

/** The earliest time this channel needs a tick, or null. */
export const nextDeadline = (ch: Channel): number | null => {
  if (ch.dead) return null
  let at = ch.retransmitAt
  if (ch.ackAt !== null && (at === null || ch.ackAt < at)) at = ch.ackAt
  if (ch.config.helloIntervalMs > 0 && ch.peerTunnelId !== 0 && ch.inFlight.length === 0) {
    const hello = ch.lastHeardAt + ch.config.helloIntervalMs
    if (at === null || hello < at) at = hello
  }
  return at
}

/**
 * Control channel reset (RFC 4951 §5.5): flush both windows, take the suggested Ns/Nr, never
 * retransmit a message of before the reset.
 */
export const resetChannel = (ch: Channel, ns: number, nr: number): void => {
  ch.inFlight.length = 0
  ch.backlog.length = 0
  ch.early.clear()
  ch.ns = ns & 0xffff
  ch.nr = nr & 0xffff
  ch.dead = false
  ch.retries = 0
  ch.rtoMs = ch.config.initialTimeoutMs
  ch.retransmitAt = null
  ch.ackAt = null
  ch.cwnd = 1
}

/**
 * A dead channel's peer spoke again (RFC 4951 §5.2, FO-30): a fresh retry budget; messages
 * still outstanding are retransmitted at once ('pending'), else the retransmission timer stops
 * ('idle').
 */
export const revive = (ch: Channel, now: number): 'idle' | 'pending' => {
  ch.dead = false
  ch.retries = 0
  ch.rtoMs = ch.config.initialTimeoutMs
  if (ch.inFlight.length > 0) {
    ch.retransmitAt = now
    return 'pending'
  }
  ch.retransmitAt = null
  ch.silentSince = null
  return 'idle'
}

/** True when everything we sent was acknowledged. */
export const idle = (ch: Channel): boolean => ch.inFlight.length === 0 && ch.backlog.length === 0
