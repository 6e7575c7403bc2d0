// The LAC simulator: the same engine, told to open N tunnels x M sessions toward a peer and
// hold them. Used by l2tp-node --simulate, the tests, the benchmarks and the demo.
import type { Address } from '../../contracts/index.js'
import type { Effect } from '../engine/types.js'
import type { UdpEndpoint } from './udp-endpoint.js'

export interface SimulationPlan {
  readonly peer: Address
  readonly tunnels: number
  readonly sessionsPerTunnel: number
  /** Tunnel opens started at most this many at a time (keeps the peer's queues sane). */
  readonly concurrentTunnels?: number
}

export interface SimulationProgress {
  tunnelsUp: number
  tunnelsFailed: number
  sessionsUp: number
  sessionsFailed: number
  startedAt: number
  tunnelsDoneAt: number | null
  sessionsDoneAt: number | null
}

/** Drives an endpoint (role LAC) through the plan; resolves when every tunnel and session settled. */
export class Simulation {
  readonly progress: SimulationProgress
  private started = 0
  private settled: (() => void) | null = null
  readonly done: Promise<void>

  constructor(
    private readonly endpoint: UdpEndpoint,
    private readonly plan: SimulationPlan,
    now = Date.now(),
  ) {
    this.progress = {
      tunnelsUp: 0,
      tunnelsFailed: 0,
      sessionsUp: 0,
      sessionsFailed: 0,
      startedAt: now,
      tunnelsDoneAt: null,
      sessionsDoneAt: null,
    }
    this.done = new Promise((r) => {
      this.settled = r
    })
  }

  /** Call with every effect of the endpoint (UdpEndpoint hooks.onEffect). */
  readonly onEffect = (f: Effect): void => {
    const p = this.progress
    switch (f._tag) {
      case 'TunnelUp':
        p.tunnelsUp++
        this.upTunnels.add(f.tunnelId)
        for (let i = 0; i < this.plan.sessionsPerTunnel; i++) {
          queueMicrotask(() =>
            this.endpoint.input({ _tag: 'OpenSession', tunnelId: f.tunnelId, direction: 'incoming' }),
          )
        }
        this.next()
        break
      case 'TunnelDown':
        if (!this.isUp(f.tunnelId)) {
          p.tunnelsFailed++
          this.next()
        }
        break
      case 'SessionUp':
        p.sessionsUp++
        break
      case 'SessionDown':
        break
      case 'Emit':
        if (f.event.type === 'SetupRejected' && f.event.stage === 'session') p.sessionsFailed++
        break
      default:
        return
    }
    this.check()
  }

  private readonly upTunnels = new Set<number>()
  private isUp(id: number): boolean {
    return this.upTunnels.has(id)
  }

  start(): void {
    const n = Math.min(this.plan.concurrentTunnels ?? 64, this.plan.tunnels)
    for (let i = 0; i < n; i++) this.next()
    this.check()
  }

  private next(): void {
    if (this.started >= this.plan.tunnels) return
    this.started++
    queueMicrotask(() => this.endpoint.input({ _tag: 'OpenTunnel', peer: this.plan.peer }))
  }

  private check(): void {
    const p = this.progress
    if (p.tunnelsDoneAt === null && p.tunnelsUp + p.tunnelsFailed >= this.plan.tunnels)
      p.tunnelsDoneAt = Date.now()
    const wanted = p.tunnelsUp * this.plan.sessionsPerTunnel
    if (p.tunnelsDoneAt !== null && p.sessionsDoneAt === null && p.sessionsUp + p.sessionsFailed >= wanted) {
      p.sessionsDoneAt = Date.now()
      this.settled?.()
    }
  }
}
