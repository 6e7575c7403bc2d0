// Endpoint ownership lease in the NATS JetStream KV bucket l2tp_endpoints (DESIGN.md §5, rules
// and safety argument in docs/lease.md): monotonic clock only; validity counted from the send
// time of the last successful renewal minus a margin; failed or slow renewals retried while
// valid; the owner stops when validity runs out or another owner is seen; a standby claims only
// after the detection time on its own clock; any stop hands the lease back, never renewed.
import * as E from 'fp-ts/lib/Either.js'
import { decodeLease, encodeLease, type LeaseValue } from '../../contracts/index.js'
import type { KvBucket } from '../../registry/shell/index.js'

/** The lease value and its codec (contracts/lease.ts, shared with the registry's liveness). */
export { decodeLease, encodeLease, type LeaseValue } from '../../contracts/index.js'

export interface LeaseOptions {
  readonly renewMs: number
  readonly detectionMs: number
  readonly pollMs: number
  /** Taken off the owner's validity (detection time) to cover clock-rate drift and send latency. */
  readonly marginMs?: number
}

/**
 * Defaults (docs/lease.md): renew twice a second, detection 3 s. A dead owner is claimed
 * 2.5-3.1 s after it died; the owner rides through a KV write outage (or its own event loop
 * stalled) of 2.25 s at least.
 */
export const DEFAULT_LEASE: LeaseOptions = { renewMs: 500, detectionMs: 3000, pollMs: 100 }

/** The margin used when none is configured: a tenth of the detection time, at most 250 ms. */
export const leaseMargin = (o: LeaseOptions): number =>
  o.marginMs ?? Math.min(250, Math.floor(o.detectionMs / 10))

/** Why a lease configuration is unsafe or useless, or null when it is fine. */
export const leaseProblem = (o: LeaseOptions): string | null => {
  if (!(o.renewMs > 0 && o.detectionMs > 0 && o.pollMs > 0))
    return 'renewMs, detectionMs and pollMs must be above 0'
  if (o.detectionMs < 2 * o.renewMs)
    return `detectionMs (${o.detectionMs}) must be at least 2 x renewMs (${o.renewMs}): one failed renewal must not lose the lease`
  const margin = leaseMargin(o)
  if (margin < 0 || o.detectionMs - margin <= o.renewMs)
    return `marginMs (${margin}) must leave the owner more than one renewal interval of validity`
  return null
}

/** A monotonic clock and a timer (the real ones in production, fakes in tests). */
export interface LeaseClock {
  /** Monotonic milliseconds (performance.now): never the wall clock, which may step. */
  readonly now: () => number
  /** The wall clock, only for `renewedAt` (shown to people, never used for a window). */
  readonly wallNow: () => number
  /** Runs `fn` after `ms`; returns a cancel function. */
  readonly after: (ms: number, fn: () => void) => () => void
}

export const systemClock: LeaseClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms))
    return () => clearTimeout(t)
  },
}

export interface LeaseHooks {
  /** We own the endpoint for `epoch` (at least the log's epoch + 1 is the caller's business). */
  readonly onAcquired: (epoch: number) => Promise<void>
  /** We lost it (validity ran out, or another owner is seen): stop serving at once. */
  readonly onLost: (why: string) => void
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void
}

type Phase = 'standby' | 'owner' | 'stopped'

export class EndpointLease {
  private phase: Phase = 'standby'
  private revision = 0
  private epoch = 0
  private validUntil = Number.NEGATIVE_INFINITY
  private renewing = false
  private failures = 0
  /** The revision a standby sees, and when (its own clock) it first saw it. */
  private seen: { revision: number; at: number } | null = null
  private holdOffUntil = Number.NEGATIVE_INFINITY
  private cancelTick: (() => void) | null = null
  private cancelValidity: (() => void) | null = null
  private polls: Promise<void> = Promise.resolve()
  private forced = false
  private readonly margin: number

  constructor(
    private readonly kv: KvBucket,
    private readonly endpointId: string,
    private readonly nodeId: string,
    private readonly hooks: LeaseHooks,
    private readonly options: LeaseOptions = DEFAULT_LEASE,
    /** The epoch already reached in the log (a claim never goes below it). */
    private readonly minEpoch: () => number = () => 0,
    private readonly clock: LeaseClock = systemClock,
  ) {
    this.margin = leaseMargin(options)
  }

  get isOwner(): boolean {
    return this.phase === 'owner'
  }

  /**
   * True while we own the lease and its validity has not run out. Checked before every datagram
   * sent or handled: a process that was stopped finds out here before any timer of its own sends.
   */
  valid(): boolean {
    return this.phase === 'owner' && this.clock.now() < this.validUntil
  }

  get currentEpoch(): number {
    return this.epoch
  }

  start(): void {
    if (this.phase === 'stopped') return
    this.schedulePoll(0)
  }

  private schedule(ms: number, fn: () => void): void {
    this.cancelTick?.()
    this.cancelTick = this.phase === 'stopped' ? null : this.clock.after(ms, fn)
  }

  private schedulePoll(ms: number): void {
    this.schedule(ms, () => void this.pollOnce())
  }

  private pollOnce(): Promise<void> {
    this.polls = this.polls.then(() => this.poll())
    return this.polls
  }

  // ---- owner ----

  private scheduleRenew(ms: number): void {
    this.schedule(ms, () => void this.renew())
  }

  private armValidity(): void {
    this.cancelValidity?.()
    this.cancelValidity = this.clock.after(this.validUntil - this.clock.now(), () => {
      if (this.phase === 'owner' && this.clock.now() >= this.validUntil)
        this.lose('lease validity ran out (no successful renewal in time)')
      else if (this.phase === 'owner') this.armValidity()
    })
  }

  /**
   * A renewal (a compare-and-set on our revision), retried while valid. One is waited for at a
   * time, for at most 2 x `renewMs`: a slower one is not waited for any longer (it may still
   * land, and then counts from its own send time) and the next is sent.
   */
  private async renew(): Promise<void> {
    if (this.phase !== 'owner' || this.renewing) return
    this.renewing = true
    const sentAt = this.clock.now()
    let abandoned = false
    const cancel = this.clock.after(2 * this.options.renewMs, () => {
      abandoned = true
      this.renewing = false
      this.failed('no answer in time')
    })
    const r = await this.kv.compareAndSet(this.endpointId, this.value(false), this.revision)()
    cancel()
    if (!abandoned) this.renewing = false
    if (this.phase !== 'owner') {
      // We stopped while it was in flight: a renewal that landed is handed straight back.
      if (E.isRight(r) && r.right._tag === 'Written') await this.writeReleased(r.right.revision)
      return
    }
    if (E.isRight(r) && r.right._tag === 'Written') {
      this.revision = r.right.revision
      this.validUntil = Math.max(this.validUntil, sentAt + this.options.detectionMs - this.margin)
      if (this.failures > 0) this.hooks.log('info', 'lease renewed again', { endpoint: this.endpointId })
      this.failures = 0
      this.armValidity()
      if (!this.renewing) this.scheduleRenew(sentAt + this.options.renewMs - this.clock.now())
      return
    }
    if (E.isRight(r)) return this.afterConflict()
    if (!abandoned) this.failed(r.left.detail)
  }

  private failed(detail: string): void {
    if (this.phase !== 'owner') return
    this.failures++
    if (this.failures === 1 || this.failures % 20 === 0)
      this.hooks.log('warn', 'lease renewal failed; retrying while the lease is valid', {
        endpoint: this.endpointId,
        error: detail,
        validForMs: Math.round(this.validUntil - this.clock.now()),
      })
    this.scheduleRenew(Math.min(this.options.renewMs, Math.max(20, this.options.renewMs / 4)))
  }

  /** Our revision is not current: our own write whose reply was lost, or another owner. */
  private async afterConflict(): Promise<void> {
    const cur = await this.kv.get(this.endpointId)()
    if (this.phase !== 'owner') return
    if (E.isLeft(cur)) return this.scheduleRenew(Math.max(20, this.options.renewMs / 4))
    const v = cur.right === null ? null : decodeLease(cur.right.value)
    if (cur.right !== null && v !== null && v.node === this.nodeId && v.epoch === this.epoch && !v.released) {
      // Validity is not extended by this read: the next renewal (at once) does that.
      this.revision = cur.right.revision
      return this.scheduleRenew(0)
    }
    this.lose(
      v === null ? 'lease key gone or unreadable' : `lease taken over by ${v.node} (epoch ${v.epoch})`,
    )
  }

  /** The lease decided we no longer own it: tell the owner of the endpoint, hand it back. */
  private lose(why: string): void {
    if (this.phase !== 'owner') return
    this.handBackNow()
    this.hooks.log('warn', 'lease lost', { endpoint: this.endpointId, why })
    this.hooks.onLost(why)
  }

  /** Leave the owner phase: never renew again; mark released (best effort); stand by, held off. */
  private handBackNow(): Promise<void> {
    this.phase = 'standby'
    this.cancelValidity?.()
    this.cancelValidity = null
    this.validUntil = Number.NEGATIVE_INFINITY
    this.holdOffUntil = this.clock.now() + this.options.detectionMs
    this.seen = null
    // A renewal still in flight either loses to this write or lands first and is released then.
    const released = this.writeReleased(this.revision)
    this.schedulePoll(this.options.pollMs)
    return released
  }

  private async writeReleased(revision: number): Promise<void> {
    await this.kv.compareAndSet(this.endpointId, this.value(true), revision)()
  }

  private value(released: boolean): Uint8Array {
    return encodeLease({ node: this.nodeId, epoch: this.epoch, renewedAt: this.clock.wallNow(), released })
  }

  // ---- standby ----

  private async poll(): Promise<void> {
    if (this.phase !== 'standby') return
    const cur = await this.kv.get(this.endpointId)()
    if (this.phase !== 'standby') return
    if (E.isLeft(cur)) return this.schedulePoll(this.options.pollMs)
    // Taken after the reply: the revision was written before it, so never earlier than its write.
    const now = this.clock.now()
    const value = cur.right === null ? null : decodeLease(cur.right.value)
    const revision = cur.right?.revision ?? 0
    if (this.seen === null || this.seen.revision !== revision) this.seen = { revision, at: now }
    const forced = this.forced
    this.forced = false
    const stale = forced || now - this.seen.at >= this.options.detectionMs
    // Free: no key, or released by its owner. A value that does not decode is held (stale only).
    const free = cur.right === null || value?.released === true
    if ((!free && !stale) || (!forced && now < this.holdOffUntil))
      return this.schedulePoll(this.options.pollMs)
    await this.claim(revision, value, stale)
  }

  private async claim(revision: number, value: LeaseValue | null, stale: boolean): Promise<void> {
    const epoch = Math.max(value?.epoch ?? 0, this.minEpoch()) + 1
    const sentAt = this.clock.now()
    const claim = await this.kv.compareAndSet(
      this.endpointId,
      encodeLease({ node: this.nodeId, epoch, renewedAt: this.clock.wallNow(), released: false }),
      revision,
    )()
    if (this.phase !== 'standby') return
    if (E.isLeft(claim) || claim.right._tag !== 'Written') return this.schedulePoll(this.options.pollMs)
    this.phase = 'owner'
    this.epoch = epoch
    this.revision = claim.right.revision
    this.validUntil = sentAt + this.options.detectionMs - this.margin
    this.failures = 0
    this.armValidity()
    // Renewals run on their own timer while the endpoint is being taken over.
    this.scheduleRenew(sentAt + this.options.renewMs - this.clock.now())
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
      await this.handBack()
    }
  }

  /**
   * Operator takeover: claim at once, without waiting for the detection time. The owner, if it
   * lives, finds its next renewal refused and stops serving (self-fencing); its Kafka writer is
   * fenced by ours. Resolves true when this node owns the endpoint afterwards.
   */
  async claimNow(): Promise<boolean> {
    // A claim in progress (a released lease is claimed by the next poll) is awaited with its
    // takeover: the caller finds the endpoint served, not half taken over.
    await this.polls
    if (this.isOwner) return true
    this.forced = true
    await this.pollOnce()
    return this.isOwner
  }

  /**
   * This node stops serving the endpoint, for whatever reason (guard tripped, writer fenced,
   * bind or gain failed, planned switchover, shutdown): the lease is marked released so a
   * standby claims it at once (left to expire if NATS is away), and never renewed again. This
   * node stands by again, leaving the endpoint to others for the detection time.
   */
  async handBack(): Promise<void> {
    if (this.phase !== 'owner') return
    await this.handBackNow()
  }

  /** Planned switchover: the same as handBack. */
  release(): Promise<void> {
    return this.handBack()
  }

  stop(): void {
    this.phase = 'stopped'
    this.cancelTick?.()
    this.cancelTick = null
    this.cancelValidity?.()
    this.cancelValidity = null
  }
}
