// Liveness of every known endpoint's owner (issue 9): the registry polls the lease bucket
// (l2tp_endpoints, value {node, epoch, renewedAt, released}) with direct gets at a bounded rate
// and judges like a standby does: a revision seen unchanged across readings spanning the detection
// time, measured on the registry's own clock, means the owner is gone (a key read less often than
// the detection time is not taken for dead between two readings); a released lease or an EndpointReleased event
// in the fold means released; no key means the endpoint is not under a lease (a plain node).
import * as E from 'fp-ts/lib/Either.js'
import { decodeLease, type LeaseValue, type Liveness, unsafe } from '../../contracts/index.js'
import type { EndpointTable } from '../domain/index.js'
import type { KvReader } from './nats-kv.js'

export interface LivenessOptions {
  /** Revision unchanged this long (registry clock) = owner gone; the standby's default is 3000. */
  readonly detectionMs: number
  /** Each endpoint's key is read at most this often. */
  readonly pollMs: number
  /** Bound on direct gets per second over all endpoints (a large fleet is polled less often). */
  readonly maxGetsPerSecond: number
}

export const DEFAULT_LIVENESS: LivenessOptions = { detectionMs: 3000, pollMs: 1000, maxGetsPerSecond: 200 }

/** What the last get of one endpoint's key showed. */
export type Seen =
  /** `last`: the lease reading before the failure (its revision's first-seen time is kept). */
  | { readonly _tag: 'Failed'; readonly detail: string; readonly last: LeaseSeen | null }
  | { readonly _tag: 'NoKey' }
  | LeaseSeen

export interface LeaseSeen {
  readonly _tag: 'Lease'
  readonly revision: number
  /** When this revision was first seen (registry clock). */
  readonly changedAt: number
  /** When this revision was last seen (registry clock). */
  readonly seenAt: number
  /** null: a value that does not decode (shown as gone once it stops changing). */
  readonly lease: LeaseValue | null
}

/** Folds a new reading into what was seen before (the revision's first-seen time is kept). */
export const observe = (
  before: Seen | undefined,
  read: E.Either<string, { value: Uint8Array; revision: number } | null>,
  now: number,
): Seen => {
  const last = before?._tag === 'Lease' ? before : before?._tag === 'Failed' ? before.last : null
  if (E.isLeft(read)) return { _tag: 'Failed', detail: read.left, last }
  if (read.right === null) return { _tag: 'NoKey' }
  const { revision, value } = read.right
  const changedAt = last !== null && last.revision === revision ? last.changedAt : now
  return { _tag: 'Lease', revision, changedAt, seenAt: now, lease: decodeLease(value) }
}

const released = (t: EndpointTable): boolean => !t.active && t.epoch > 0

/** The liveness of one endpoint from its table and what its lease key showed. Pure. */
export const judge = (
  table: EndpointTable,
  seen: Seen | undefined,
  now: number,
  detectionMs: number,
): Liveness => {
  const byEvent: Liveness | null = released(table)
    ? { state: 'released', since: table.lastEventAt, leaseNode: null, leaseEpoch: null }
    : null
  if (seen === undefined || seen._tag === 'Failed')
    return byEvent ?? { state: 'unknown', since: null, leaseNode: null, leaseEpoch: null }
  if (seen._tag === 'NoKey')
    return byEvent ?? { state: 'no-lease', since: null, leaseNode: null, leaseEpoch: null }
  const holder = { leaseNode: seen.lease?.node ?? null, leaseEpoch: seen.lease?.epoch ?? null }
  if (seen.lease?.released === true)
    return {
      state: 'released',
      since: unsafe.millis(Math.max(0, Math.trunc(seen.lease.renewedAt))),
      ...holder,
    }
  // Evidence, not a guess: the same revision read again at least the detection time after it was
  // first read (a live owner renews far more often). `now` only bounds readings from the future.
  if (Math.min(now, seen.seenAt) - seen.changedAt >= detectionMs)
    return { state: 'gone', since: unsafe.millis(seen.changedAt), ...holder }
  // A live lease of a newer epoch than the fold's release: a standby took over, not yet folded.
  if (byEvent !== null && (seen.lease === null || seen.lease.epoch <= table.epoch))
    return { ...byEvent, ...holder }
  return { state: 'ok', since: null, ...holder }
}

/**
 * Polls each endpoint's lease key: every `pollMs` at most, and never more than
 * `maxGetsPerSecond` gets in all (round robin over the endpoints the registry knows).
 */
export class LivenessWatch {
  private readonly seen = new Map<string, Seen>()
  private readonly polledAt = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> = Promise.resolve()
  private stopped = false
  private static readonly TICK_MS = 100

  constructor(
    private readonly kv: KvReader,
    private readonly tables: () => ReadonlyMap<string, EndpointTable>,
    readonly options: LivenessOptions = DEFAULT_LIVENESS,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    this.schedule()
  }

  /** The next tick once this one is done (a slow bucket slows the rounds, never piles them up). */
  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.tick().then(() => this.schedule())
    }, LivenessWatch.TICK_MS)
    this.timer.unref()
  }

  /** One round: the endpoints due, at most the rate's share of one tick. */
  async tick(): Promise<void> {
    if (this.stopped) return
    const budget = Math.max(1, Math.floor((this.options.maxGetsPerSecond * LivenessWatch.TICK_MS) / 1000))
    const now = this.clock()
    const due = [...this.tables().keys()]
      .filter((id) => now - (this.polledAt.get(id) ?? Number.NEGATIVE_INFINITY) >= this.options.pollMs)
      .sort((a, b) => (this.polledAt.get(a) ?? 0) - (this.polledAt.get(b) ?? 0))
      .slice(0, budget)
    await Promise.all(due.map((id) => this.poll(id)))
  }

  private async poll(id: string): Promise<void> {
    this.polledAt.set(id, this.clock())
    const r = await this.kv.get(id)()
    const read = E.isLeft(r) ? E.left(r.left.detail) : E.right(r.right)
    this.seen.set(id, observe(this.seen.get(id), read, this.clock()))
  }

  of(table: EndpointTable): Liveness {
    return judge(table, this.seen.get(table.endpointId), this.clock(), this.options.detectionMs)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    await this.running
  }
}
