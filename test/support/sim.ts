// An in-process network of engines on a fake clock: datagrams between addresses, with optional
// loss, duplication and reordering (seeded). Runs timers in time order. For FSM scenario tests.
import type { Address } from '../../contracts/index.js'
import { DEFAULT_CHANNEL } from '../../nodes/control/channel.js'
import { createEngine, step } from '../../nodes/engine/engine.js'
import type { Effect, Engine, EngineConfig, EventBody, Input, Rng } from '../../nodes/engine/types.js'
import { mulberry32 } from './history.js'

export const seededRng = (seed: number): Rng => {
  const r = mulberry32(seed)
  return { bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256)) }
}

export const engineConfig = (over: Partial<EngineConfig> = {}): EngineConfig => ({
  role: 'LNS',
  hostName: 'lns-a',
  vendorName: 'l2tp-registry',
  firmwareRevision: 1,
  secretFor: () => null,
  challenge: false,
  hide: new Set(),
  framing: { sync: true, async: true },
  bearer: { digital: true, analog: false },
  failover: null,
  channel: DEFAULT_CHANNEL,
  lingerMs: 31_000,
  maxSessionsPerTunnel: 65_535,
  refuseNew: false,
  ...over,
})

export interface Faults {
  /** Probability a datagram is lost. */
  readonly loss?: number
  /** Probability a datagram is sent twice. */
  readonly duplicate?: number
  /** Extra random delay up to this many ms (reorders). */
  readonly jitterMs?: number
}

interface Pending {
  readonly at: number
  readonly order: number
  readonly run: () => void
}

export const addr = (host: string, port = 1701): Address => ({ host, port: port as Address['port'] })
const key = (a: Address) => `${a.host}:${a.port}`

export class Sim {
  now = 0
  private order = 0
  private readonly queue: Pending[] = []
  readonly nodes = new Map<
    string,
    { engine: Engine; rng: Rng; events: EventBody[]; effects: Effect[]; timers: Map<number, number> }
  >()
  readonly wire: Array<{ from: Address; to: Address; bytes: Uint8Array; at: number }> = []
  private readonly rnd: () => number

  constructor(
    seed = 1,
    readonly faults: Faults = {},
    readonly latencyMs = 1,
  ) {
    this.rnd = mulberry32(seed + 1000)
  }

  add(address: Address, config: EngineConfig, seed = this.nodes.size + 1): Engine {
    const engine = createEngine(config, address)
    this.nodes.set(key(address), { engine, rng: seededRng(seed), events: [], effects: [], timers: new Map() })
    return engine
  }

  node(a: Address) {
    const n = this.nodes.get(key(a))
    if (n === undefined) throw new Error(`no node ${key(a)}`)
    return n
  }

  input(a: Address, i: Input): Effect[] {
    const n = this.node(a)
    const fx = step(n.engine, i, this.now, n.rng)
    n.effects.push(...fx)
    for (const f of fx) this.apply(a, f)
    return fx
  }

  private schedule(at: number, run: () => void): void {
    this.queue.push({ at, order: this.order++, run })
    this.queue.sort((x, y) => x.at - y.at || x.order - y.order)
  }

  private apply(from: Address, f: Effect): void {
    const n = this.node(from)
    if (f._tag === 'Emit') n.events.push(f.event)
    if (f._tag === 'Disarm') n.timers.delete(f.tunnelId)
    if (f._tag === 'Arm') {
      n.timers.set(f.tunnelId, f.at)
      const at = f.at
      this.schedule(at, () => {
        if (this.nodes.get(key(from)) === n && n.timers.get(f.tunnelId) === at) {
          n.timers.delete(f.tunnelId)
          this.input(from, { _tag: 'Timer', tunnelId: f.tunnelId })
        }
      })
    }
    if (f._tag === 'Send') {
      this.wire.push({ from, to: f.to, bytes: f.bytes.slice(), at: this.now })
      if (this.rnd() < (this.faults.loss ?? 0)) return
      const copies = this.rnd() < (this.faults.duplicate ?? 0) ? 2 : 1
      for (let i = 0; i < copies; i++) {
        const delay = this.latencyMs + Math.floor(this.rnd() * (this.faults.jitterMs ?? 0))
        const bytes = f.bytes.slice()
        this.schedule(this.now + delay, () => {
          if (this.nodes.has(key(f.to))) this.input(f.to, { _tag: 'Datagram', from, bytes })
        })
      }
    }
  }

  /** Runs queued deliveries and timers until `untilMs` (absolute) or nothing is left. */
  run(untilMs: number): void {
    while (this.queue.length > 0 && (this.queue[0] as Pending).at <= untilMs) {
      const p = this.queue.shift() as Pending
      this.now = Math.max(this.now, p.at)
      p.run()
    }
    this.now = Math.max(this.now, untilMs)
  }
}
