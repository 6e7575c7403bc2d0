// The shell of one endpoint: a UDP socket on the endpoint's address serving every tunnel, one
// timer for all tunnels (a heap), crypto randomness, and the node's own connection table kept
// with the registry's evolve over the events the FSMs emit. The shell decides nothing itself.
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket, type SocketOptions } from 'node:dgram'
import { lookup as dnsLookup } from 'node:dns'
import { isIP, isIPv6 } from 'node:net'
import {
  type Address,
  boundText,
  type EndpointId,
  EVENT_TEXT_FIELDS,
  type L2tpEvent,
  type NodeId,
  unsafe,
  withEnvelope,
} from '../../contracts/index.js'
import { type EndpointTable, emptyTable, evolve } from '../../registry/index.js'
import { icrqWaitMs, sccrqWaitMs } from '../engine/admission.js'
import { createEngine, step } from '../engine/engine.js'
import type { Effect, Engine, EngineConfig, EventBody, Input, Rng } from '../engine/types.js'
import { Refusal } from './refusal.js'
import { PacedQueue, type WaitingSetup } from './setup-queue.js'
import { TimerHeap } from './timer-heap.js'

/** Crypto randomness from a 64 KiB pool: one getrandom call per ~16,000 ids, not one per id. */
export const pooledCryptoRng = (poolSize = 64 * 1024): Rng => {
  let pool = randomBytes(poolSize)
  let at = 0
  return {
    bytes: (n) => {
      if (n > poolSize) return randomBytes(n)
      if (at + n > poolSize) {
        pool = randomBytes(poolSize)
        at = 0
      }
      const out = pool.subarray(at, at + n)
      at += n
      return out
    },
  }
}

export const cryptoRng: Rng = pooledCryptoRng()

/**
 * dgram resolves the address of every send, even an IP literal, through dns.lookup (one more
 * callback on the next tick per datagram); the peers we answer are IP literals (from the
 * datagrams' sources), so those are answered at once and only names go to dns.lookup.
 */
const literalFirst: NonNullable<SocketOptions['lookup']> = (host, options, callback) => {
  const family = isIP(host)
  if (family === 0) dnsLookup(host, options, callback)
  else callback(null, host, family)
}

export interface EndpointIdentity {
  readonly endpointId: EndpointId
  readonly nodeId: NodeId
  readonly epoch: number
}

export interface EndpointHooks {
  /** Every event, with its envelope, after it was applied to the node's own table. */
  readonly onEvent?: (e: L2tpEvent) => void
  /** Every effect (tests and the simulator watch TunnelUp/SessionUp/Dropped here). */
  readonly onEffect?: (f: Effect) => void
  readonly clock?: () => number
  /** Checked before every send and receive: false means we may no longer serve (lease lapsed). */
  readonly guard?: () => boolean
  readonly onGuardFailed?: () => void
  /** Allow a replacement to bind the address while a stopped process still holds it (same host). */
  readonly reuseAddr?: boolean
}

/**
 * A control message for tunnel 0 is a new SCCRQ (RFC 2661 §3.1 header: T bit, Tunnel ID after the
 * optional Length; §5.1: tunnel set-up). Read from the header alone, before any decoding.
 */
export const isNewTunnelRequest = (b: Uint8Array): boolean => {
  if (b.length < 6 || ((b[0] as number) & 0x80) === 0) return false
  const at = ((b[0] as number) & 0x40) !== 0 ? 4 : 2
  return b[at] === 0 && b[at + 1] === 0
}

/**
 * An ICRQ (RFC 2661 §3.1 control header with L and S set: 12 bytes; §4.1: the Message Type AVP,
 * never hidden, comes first: attribute 0 of vendor 0, value 10). Read without decoding.
 */
export const isIncomingCallRequest = (b: Uint8Array): boolean =>
  b.length >= 20 &&
  ((b[0] as number) & 0xca) === 0xc8 &&
  b[14] === 0 &&
  b[15] === 0 &&
  b[16] === 0 &&
  b[17] === 0 &&
  b[18] === 0 &&
  b[19] === 10

/** New tunnel requests held behind the traffic of existing tunnels, at most this many. */
export const SETUP_QUEUE_MAX = 1024
/**
 * ... and at most this many from one source host: all of it. One peer may legitimately send a
 * storm (a recovery endpoint sends one recovery SCCRQ per tunnel at once, a LAC opens hundreds),
 * so fairness comes from the round robin and from longest-queue drop when full, not from a
 * per-source share that would shed a lone peer's storm with the queue empty otherwise.
 */
export const SETUP_QUEUE_PER_SOURCE = SETUP_QUEUE_MAX

/** Events without peer texts: one shared empty list, no allocation per recorded event. */
const NO_TEXT_FIELDS: readonly string[] = []

export class UdpEndpoint {
  readonly engine: Engine
  table: EndpointTable
  epoch: number
  private readonly listeners: Array<(e: L2tpEvent) => void> = []
  private socket: Socket | null = null
  private readonly timers = new TimerHeap()
  private timer: NodeJS.Timeout | null = null
  private timerAt: number | null = null
  private seq = 0
  private readonly now: () => number
  sent = 0
  sendErrors = 0
  /** New SCCRQs, always queued (behind existing tunnels' traffic), fair by source, paced by the SCCRQ rate. */
  private readonly setups: PacedQueue
  /** ICRQs past the ICRQ rate wait here, fair by source, instead of being refused first come first served. */
  private readonly calls: PacedQueue
  /** Text fields cut at the AVP maximum (a peer's strings decoded from bytes may grow in UTF-8). */
  truncatedTexts = 0
  /** Why new tunnels and sessions are refused (drain, outbox pressure, release, shutdown). */
  readonly refusal: Refusal

  constructor(
    config: EngineConfig,
    readonly bind: Address,
    readonly identity: EndpointIdentity,
    private readonly hooks: EndpointHooks = {},
  ) {
    this.engine = createEngine(config, bind)
    this.refusal = new Refusal(
      () => this.engine.refusing,
      (i) => {
        this.input(i)
      },
    )
    this.table = emptyTable(identity.endpointId)
    this.epoch = identity.epoch
    this.now = hooks.clock ?? Date.now
    const deliver = (w: WaitingSetup): boolean => {
      if (this.socket === null) return false
      this.input({ _tag: 'Datagram', from: w.from, bytes: w.bytes })
      return true
    }
    this.setups = new PacedQueue(
      SETUP_QUEUE_MAX,
      SETUP_QUEUE_PER_SOURCE,
      () => sccrqWaitMs(this.engine, this.now()),
      deliver,
    )
    this.calls = new PacedQueue(
      SETUP_QUEUE_MAX,
      SETUP_QUEUE_PER_SOURCE,
      () => icrqWaitMs(this.engine, this.now()),
      deliver,
    )
  }

  /** Binds the endpoint's address (RFC 2661 §8.1: UDP, normally port 1701). */
  async start(): Promise<void> {
    const socket = createSocket({
      type: isIPv6(this.bind.host) ? 'udp6' : 'udp4',
      reuseAddr: this.hooks.reuseAddr === true,
      lookup: literalFirst,
    })
    socket.on('message', (msg, rinfo) => {
      const from = { host: rinfo.address, port: unsafe.port(rinfo.port) }
      if (isNewTunnelRequest(msg)) this.setups.push({ from, bytes: msg })
      else if (isIncomingCallRequest(msg) && this.mustWait()) this.calls.push({ from, bytes: msg })
      else this.input({ _tag: 'Datagram', from, bytes: msg })
    })
    socket.on('error', () => {
      this.sendErrors++
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(this.bind.port, this.bind.host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    socket.setRecvBufferSize(8 * 1024 * 1024)
    socket.setSendBufferSize(8 * 1024 * 1024)
    this.socket = socket
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.timerAt = null
    this.setups.stop()
    this.calls.stop()
    const s = this.socket
    this.socket = null
    if (s !== null) await new Promise<void>((r) => s.close(() => r()))
  }

  /**
   * Under load, the traffic of existing tunnels (HELLO, ZLB acks, StopCCN, session messages) goes
   * ahead of new tunnels: a new SCCRQ waits for the check phase of the event loop, after every
   * datagram libuv read in this poll. Waiting requests are served round robin by source host
   * (FairSetupQueue) and, with an SCCRQ admission rate set, only as the engine's bucket holds a
   * token, so a flood from many sources delays a legitimate LAC by one turn of the sources
   * instead of starving it. Over SETUP_QUEUE_MAX in all or SETUP_QUEUE_PER_SOURCE from one
   * source a request is shed and counted (the peer retransmits it, RFC 2661 §5.8). Requests
   * from one source keep their order.
   *
   * ICRQs go straight to the engine while the ICRQ bucket holds a token; past the rate they wait
   * the same way (while any waits, every ICRQ queues: fair, and in order per source; other
   * messages of its tunnel may pass it, which the control channel's receive window holds and
   * puts back in order, RFC 2661 §5.8).
   */
  private mustWait(): boolean {
    // While any ICRQ waits, every ICRQ queues: one arriving when a token has just refilled would
    // otherwise take it ahead of those waiting for it.
    return this.calls.queue.length > 0 || icrqWaitMs(this.engine, this.now()) > 0
  }

  /** New tunnel requests waiting behind existing tunnels' traffic. */
  get setupsQueued(): number {
    return this.setups.queue.length + this.calls.queue.length
  }

  /** New tunnel and call requests shed (over SETUP_QUEUE_MAX, or SETUP_QUEUE_PER_SOURCE from one source). */
  get setupsShed(): number {
    return this.setups.queue.shed + this.calls.queue.shed
  }

  /** Feeds one input through the engine and carries out its effects. */
  input(i: Input): Effect[] {
    if (!this.allowed()) return []
    const fx = step(this.engine, i, this.now(), cryptoRng)
    for (const f of fx) this.apply(f)
    this.rearm()
    return fx
  }

  /** Records an event as the node's own: envelope, own table (same evolve as the registry). */
  record(body: EventBody): L2tpEvent {
    const e = withEnvelope(body, {
      endpointId: this.identity.endpointId,
      epoch: unsafe.epoch(this.epoch),
      seq: unsafe.seq(++this.seq),
      at: unsafe.millis(this.now()),
      nodeId: this.identity.nodeId,
    })
    // Peer-supplied texts bounded at the AVP maximum, cut ones marked (contracts/peer-text.ts).
    const fields: Record<string, unknown> = e
    for (const f of EVENT_TEXT_FIELDS[body.type] ?? NO_TEXT_FIELDS) {
      const v = fields[f]
      if (typeof v !== 'string') continue
      const b = boundText(v)
      if (b.truncated) {
        fields[f] = b.text
        this.truncatedTexts++
      }
    }
    evolve(this.table, e)
    this.hooks.onEvent?.(e)
    for (const l of this.listeners) l(e)
    return e
  }

  /** Every recorded event also goes to `listener` (the outbox subscribes here). */
  subscribe(listener: (e: L2tpEvent) => void): void {
    this.listeners.push(listener)
  }

  /** Takes over a rehydrated table under a new epoch: seq counts from 1 again (DESIGN.md §3). */
  adopt(table: EndpointTable, epoch: number): void {
    this.table = table
    this.epoch = epoch
    this.seq = 0
  }

  private apply(f: Effect): void {
    switch (f._tag) {
      case 'Send':
        if (!this.allowed()) break
        this.sent++
        this.socket?.send(f.bytes, f.to.port, f.to.host, this.afterSend)
        break
      case 'Arm':
        this.timers.set(f.tunnelId, f.at)
        break
      case 'Disarm':
        this.timers.set(f.tunnelId, null)
        break
      case 'Emit':
        this.record(f.event)
        break
      default:
        break
    }
    this.hooks.onEffect?.(f)
  }

  /** One callback for every send (dgram reports a failed send only to a send's callback). */
  private readonly afterSend = (err: Error | null): void => {
    if (err) this.sendErrors++
  }

  private guardTripped = false

  /** Self-fencing: once the guard fails, nothing more goes out or comes in for this endpoint. */
  private allowed(): boolean {
    if (this.guardTripped) return false
    if (this.hooks.guard === undefined || this.hooks.guard()) return true
    this.guardTripped = true
    this.hooks.onGuardFailed?.()
    return false
  }

  /**
   * One Node timer at the earliest deadline. It is only moved earlier: when the earliest deadline
   * went later or away (an ack sent, a retransmission acknowledged), the timer set fires early,
   * finds nothing due and moves on; no clearTimeout/setTimeout per datagram.
   */
  private rearm(): void {
    const at = this.timers.peek()
    if (at === null || (this.timerAt !== null && this.timerAt <= at)) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(this.onTimeout, Math.max(0, at - this.now()))
  }

  private readonly onTimeout = (): void => this.fire()

  private fire(): void {
    this.timer = null
    this.timerAt = null
    if (!this.allowed()) return
    const now = this.now()
    for (const id of this.timers.due(now)) {
      const fx = step(this.engine, { _tag: 'Timer', tunnelId: id }, now, cryptoRng)
      for (const f of fx) this.apply(f)
    }
    this.rearm()
  }
}
