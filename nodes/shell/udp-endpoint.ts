// The shell of one endpoint: a UDP socket on the endpoint's address serving every tunnel, one
// timer for all tunnels (a heap), crypto randomness, and the node's own connection table kept
// with the registry's evolve over the events the FSMs emit. The shell decides nothing itself.
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import {
  type Address,
  boundText,
  type EndpointId,
  EVENT_TEXT_FIELDS,
  type L2tpEvent,
  type NodeId,
  unsafe,
} from '../../contracts/index.js'
import { type EndpointTable, emptyTable, evolve } from '../../registry/index.js'
import { createEngine, step } from '../engine/engine.js'
import type { Effect, Engine, EngineConfig, EventBody, Input, Rng } from '../engine/types.js'
import { Refusal } from './refusal.js'
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
    this.refusal = new Refusal((refuse) => {
      this.engine.refuseNew = refuse
    })
    this.table = emptyTable(identity.endpointId)
    this.epoch = identity.epoch
    this.now = hooks.clock ?? Date.now
  }

  /** Binds the endpoint's address (RFC 2661 §8.1: UDP, normally port 1701). */
  async start(): Promise<void> {
    const socket = createSocket({
      type: isIPv6(this.bind.host) ? 'udp6' : 'udp4',
      reuseAddr: this.hooks.reuseAddr === true,
    })
    socket.on('message', (msg, rinfo) => {
      this.input({
        _tag: 'Datagram',
        from: { host: rinfo.address, port: unsafe.port(rinfo.port) },
        bytes: msg,
      })
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
    const s = this.socket
    this.socket = null
    if (s !== null) await new Promise<void>((r) => s.close(() => r()))
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
    const fields: Record<string, unknown> = {
      ...body,
      endpointId: this.identity.endpointId,
      epoch: this.epoch,
      seq: ++this.seq,
      at: this.now(),
      nodeId: this.identity.nodeId,
    }
    for (const f of EVENT_TEXT_FIELDS[body.type] ?? []) {
      const v = fields[f]
      if (typeof v !== 'string') continue
      const b = boundText(v)
      if (b.truncated) {
        fields[f] = b.text
        this.truncatedTexts++
      }
    }
    const e = fields as unknown as L2tpEvent
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
        this.socket?.send(f.bytes, f.to.port, f.to.host, (err) => {
          if (err) this.sendErrors++
        })
        break
      case 'Arm':
        this.timers.set(f.tunnelId, f.at)
        break
      case 'Emit':
        this.record(f.event)
        break
      default:
        break
    }
    this.hooks.onEffect?.(f)
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

  private rearm(): void {
    const at = this.timers.peek()
    if (at === this.timerAt) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = at === null ? null : setTimeout(() => this.fire(), Math.max(0, at - this.now()))
  }

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
