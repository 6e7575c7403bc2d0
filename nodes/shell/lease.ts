// Endpoint ownership lease in the NATS JetStream KV bucket l2tp_endpoints (DESIGN.md §5):
// value {node, epoch, renewedAt, released}. The owner renews every second by compare-and-set;
// a standby that sees the revision unchanged for the detection time (measured on its own
// clock, so clock skew does not matter) claims it with epoch + 1 by compare-and-set; one wins.
import * as E from 'fp-ts/lib/Either.js'
import { decodeLease, encodeLease } from '../../contracts/index.js'
import type { KvBucket } from '../../registry/shell/index.js'

/** The lease value and its codec (contracts/lease.ts, shared with the registry's liveness). */
export { decodeLease, encodeLease, type LeaseValue } from '../../contracts/index.js'

export interface LeaseOptions {
  readonly renewMs: number
  readonly detectionMs: number
  readonly pollMs: number
}

export const DEFAULT_LEASE: LeaseOptions = { renewMs: 1000, detectionMs: 3000, pollMs: 250 }

export interface LeaseHooks {
  /** We own the endpoint for `epoch` (at least the log's epoch + 1 is the caller's business). */
  readonly onAcquired: (epoch: number) => Promise<void>
  /** We lost it (renewal failed, or someone else holds it): stop serving at once. */
  readonly onLost: (why: string) => void
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void
}

export class EndpointLease {
  private revision = 0
  private epoch = 0
  private owner = false
  private stopped = false
  private lastSeen: { revision: number; at: number } | null = null
  private timer: NodeJS.Timeout | null = null
  private releasedUntil = 0
  private lastRenewAt = 0
  private forced = false

  constructor(
    private readonly kv: KvBucket,
    private readonly endpointId: string,
    private readonly nodeId: string,
    private readonly hooks: LeaseHooks,
    private readonly options: LeaseOptions = DEFAULT_LEASE,
    /** The epoch already reached in the log (a claim never goes below it). */
    private readonly minEpoch: () => number = () => 0,
  ) {}

  get isOwner(): boolean {
    return this.owner
  }

  /**
   * True while our last successful renewal is younger than the detection time: past it a standby
   * may already own the endpoint, so we must not send for it (a process that was stopped and
   * continues finds out here before any timer of its own sends a packet).
   */
  valid(now: number): boolean {
    return this.owner && now - this.lastRenewAt < this.options.detectionMs
  }

  get currentEpoch(): number {
    return this.epoch
  }

  start(): void {
    void this.tick()
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => void this.tick(), ms)
  }

  private async tick(): Promise<void> {
    if (this.stopped) return
    if (this.owner) await this.renew()
    else await this.watch()
    this.schedule(this.owner ? this.options.renewMs : this.options.pollMs)
  }

  private async renew(): Promise<void> {
    const v = encodeLease({ node: this.nodeId, epoch: this.epoch, renewedAt: Date.now(), released: false })
    const r = await this.kv.compareAndSet(this.endpointId, v, this.revision)()
    if (E.isRight(r) && r.right._tag === 'Written') {
      this.revision = r.right.revision
      this.lastRenewAt = Date.now()
      return
    }
    // Someone else holds it now, or we cannot reach NATS: stop serving at once (self-fencing).
    this.owner = false
    this.hooks.onLost(
      E.isLeft(r) ? `lease renewal failed: ${r.left.detail}` : 'lease taken over by another node',
    )
  }

  private async watch(): Promise<void> {
    const now = Date.now()
    const cur = await this.kv.get(this.endpointId)()
    if (E.isLeft(cur)) return
    const value = cur.right === null ? null : decodeLease(cur.right.value)
    const revision = cur.right?.revision ?? 0
    if (this.lastSeen === null || this.lastSeen.revision !== revision) this.lastSeen = { revision, at: now }
    const stale = this.forced || now - this.lastSeen.at >= this.options.detectionMs
    this.forced = false
    // Free: no key, or released by its owner. A value that does not decode is held (stale only).
    const free = cur.right === null || value?.released === true
    if (!free && !stale) return
    if (now < this.releasedUntil) return // we just released it: leave it to a standby
    const epoch = Math.max(value?.epoch ?? 0, this.minEpoch()) + 1
    const claim = await this.kv.compareAndSet(
      this.endpointId,
      encodeLease({ node: this.nodeId, epoch, renewedAt: now, released: false }),
      revision,
    )()
    if (E.isLeft(claim) || claim.right._tag !== 'Written') return // another standby won
    this.owner = true
    this.epoch = epoch
    this.revision = claim.right.revision
    this.lastRenewAt = now
    this.hooks.log('info', 'lease acquired', {
      endpoint: this.endpointId,
      epoch,
      previous: value?.node ?? null,
      stale,
    })
    try {
      await this.hooks.onAcquired(epoch)
    } catch (e) {
      this.hooks.log('error', 'taking the endpoint over failed; releasing the lease', { error: String(e) })
      await this.release()
    }
  }

  /**
   * Operator takeover: claim at once, without waiting for the detection time. The owner, if it
   * lives, finds its next renewal refused and stops serving (self-fencing); its Kafka writer is
   * fenced by ours. Resolves true when this node owns the endpoint afterwards.
   */
  async claimNow(): Promise<boolean> {
    if (this.owner) return true
    this.forced = true
    await this.watch()
    return this.owner
  }

  /** Planned switchover: mark the lease released so a standby claims it at once. */
  async release(): Promise<void> {
    if (!this.owner) return
    this.owner = false
    await this.kv.compareAndSet(
      this.endpointId,
      encodeLease({ node: this.nodeId, epoch: this.epoch, renewedAt: Date.now(), released: true }),
      this.revision,
    )()
    this.releasedUntil = Date.now() + this.options.detectionMs
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
  }
}
