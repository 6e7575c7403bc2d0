// Overload limits (issue 12): what a new tunnel or call must pass before any work is spent on it.
// Token buckets for SCCRQ and ICRQ admission, a cap on tunnels per endpoint, a set-up timeout for
// sessions. Sans-IO: the buckets refill from the step's `now`, never from a clock.
import { CdnResult, ErrorCode } from '../wire/index.js'
import { fileUnder, liveUnder } from './host-index.js'
import type { Ctx } from './step-context.js'
import type { Bucket, Engine, Rate, Session, Tunnel } from './types.js'

export const bucket = (rate: Rate | undefined): Bucket | null =>
  rate === undefined ? null : { tokens: rate.burst, at: Number.NEGATIVE_INFINITY, rate }

/** Refills at `perSecond` since the last look, up to `burst`. */
const refill = (b: Bucket, now: number): void => {
  const add = b.at === Number.NEGATIVE_INFINITY ? 0 : ((now - b.at) * b.rate.perSecond) / 1000
  b.tokens = Math.min(b.rate.burst, b.tokens + Math.max(0, add))
  b.at = now
}

/** Takes one token if there is one. */
export const take = (b: Bucket | null, now: number): boolean => {
  if (b === null) return true
  refill(b, now)
  if (b.tokens < 1) return false
  b.tokens -= 1
  return true
}

/**
 * Milliseconds until the SCCRQ bucket holds a token (0: one is there, or there is no bucket).
 * The shell's set-up queue hands the engine a new SCCRQ only then, so that under a flood
 * requests wait their turn (fair across sources) instead of being refused first come first served.
 */
export const sccrqWaitMs = (e: Engine, now: number): number => waitMs(e.admission.sccrq, now)

/** The same for the ICRQ bucket: under overload, the shell queues ICRQs fairly by source. */
export const icrqWaitMs = (e: Engine, now: number): number => waitMs(e.admission.icrq, now)

const waitMs = (b: Bucket | null, now: number): number => {
  if (b === null) return 0
  refill(b, now)
  return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / b.rate.perSecond))
}

export const DEFAULT_MAX_TUNNELS = 0xffff
export const DEFAULT_SESSION_SETUP_MS = 60_000

/**
 * Why a new SCCRQ is refused before a tunnel is made for it, or null: the endpoint's tunnel cap
 * (`maxTunnels`, tunnels of every state count), then the SCCRQ token bucket.
 */
export const refuseSccrq = (e: Engine, now: number, source: string): string | null => {
  const cap = e.config.maxTunnels ?? DEFAULT_MAX_TUNNELS
  if (e.tunnels.size >= cap) {
    e.stats.refusedTunnelCap++
    return `SCCRQ refused: tunnel limit of the endpoint (${cap}) reached`
  }
  const all = e.config.maxHalfOpen
  if (all !== undefined && halfOpenCount(e, now) >= all) {
    e.stats.refusedHalfOpen++
    return `SCCRQ refused: ${all} half-open tunnels on the endpoint already`
  }
  const perSource = e.config.maxHalfOpenPerSource
  if (perSource !== undefined && liveUnder(e, e.halfOpen, source, halfOpen).length >= perSource) {
    e.stats.refusedHalfOpen++
    return `SCCRQ refused: ${perSource} half-open tunnels from ${source} already`
  }
  if (!take(e.admission.sccrq, now)) {
    e.stats.refusedSccrqRate++
    return 'SCCRQ refused: admission rate exceeded'
  }
  return null
}

/** A peer's tunnel still awaiting its SCCCN (half-open), and still this engine's. */
const halfOpen = (e: Engine, t: Tunnel): boolean =>
  t.state === 'wait-ctl-conn' && t.originator === 'peer' && e.tunnels.get(t.localId) === t

/** Notes a new peer tunnel under its source and in the endpoint's set (only for the caps set). */
export const noteHalfOpen = (e: Engine, t: Tunnel): void => {
  if (e.config.maxHalfOpenPerSource !== undefined) fileUnder(e, e.halfOpen, t, halfOpen)
  if (e.config.maxHalfOpen !== undefined) e.halfOpenAll.tunnels.add(t)
}

/** How often, at most, the endpoint's half-open set is swept when it is at its cap. */
const HALF_OPEN_SWEEP_MS = 100

/**
 * The endpoint's half-open tunnels. The set gains a tunnel when a peer's SCCRQ makes one and is
 * swept of tunnels that completed or went away only when it reaches the cap, at most every
 * HALF_OPEN_SWEEP_MS: a flood at the cap costs one sweep per 100 ms, not one per SCCRQ, and a
 * tunnel that completed meanwhile is counted at most that much longer.
 */
const halfOpenCount = (e: Engine, now: number): number => {
  const h = e.halfOpenAll
  const cap = e.config.maxHalfOpen ?? Number.POSITIVE_INFINITY
  if (h.tunnels.size >= cap && now - h.prunedAt >= HALF_OPEN_SWEEP_MS) {
    h.prunedAt = now
    for (const t of h.tunnels) if (!halfOpen(e, t)) h.tunnels.delete(t)
  }
  return h.tunnels.size
}

/** Why an ICRQ is refused by the ICRQ token bucket, or null. */
export const refuseIcrq = (e: Engine, now: number): string | null => {
  if (take(e.admission.icrq, now)) return null
  e.stats.refusedIcrqRate++
  return 'ICRQ refused: admission rate exceeded'
}

/** A session being set up must be established within `sessionSetupMs` (0: no limit). */
export const startSetupClock = (ctx: Ctx, t: Tunnel, s: Session): void => {
  const ms = ctx.engine.config.sessionSetupMs ?? DEFAULT_SESSION_SETUP_MS
  if (ms <= 0 || s.state === 'established') return
  s.setupBy = ctx.now + ms
  if (t.setupCheckAt == null || s.setupBy < t.setupCheckAt) t.setupCheckAt = s.setupBy
}

/** No set-up expired: one shared empty list, no allocation per timer firing. */
const NONE_EXPIRED: readonly Session[] = []

/**
 * The sessions of `t` whose set-up ran out of time (the tunnel's timer fired at or after
 * `setupCheckAt`); the next check is set to the earliest set-up still running.
 */
export const expiredSetups = (ctx: Ctx, t: Tunnel): readonly Session[] => {
  if (t.setupCheckAt == null || ctx.now < t.setupCheckAt) return NONE_EXPIRED
  const out: Session[] = []
  let next: number | null = null
  for (const s of t.sessions.values()) {
    if (s.state === 'established' || s.setupBy === undefined) continue
    if (s.setupBy <= ctx.now) out.push(s)
    else if (next === null || s.setupBy < next) next = s.setupBy
  }
  t.setupCheckAt = next
  ctx.engine.stats.sessionSetupTimeouts += out.length
  return out
}

/**
 * The CDN of a set-up that ran out of time. RFC 2661 §4.4.2 gives result 10 ("call was not
 * established within time allotted by LAC") to the LAC; an LNS says 2 (see error code) with
 * error 6 (vendor-specific), the message naming the cause.
 */
export const setupTimeoutCdn = (role: 'LAC' | 'LNS') =>
  role === 'LAC'
    ? { result: CdnResult.Timeout, error: null, message: 'session set-up timed out' }
    : { result: CdnResult.ErrorCode, error: ErrorCode.VendorSpecific, message: 'session set-up timed out' }
