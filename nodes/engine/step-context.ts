// The context of one step (engine state, clock, rng, effects out) and the helpers the tunnel and
// session handlers share: sending through the channel with hiding, emitting events, arming
// timers, picking unpredictable ids. Sans-IO: effects are pushed, nothing is performed here.
import type { Address } from '../../contracts/index.js'
import { nextDeadline, send } from '../control/channel.js'
import { type Avps, encodeControl, type HideOptions, MessageType } from '../wire/index.js'
import type { Effect, Engine, EventBody, Rng, Tunnel } from './types.js'

export interface Ctx {
  readonly engine: Engine
  readonly now: number
  readonly rng: Rng
  readonly fx: Effect[]
}

/**
 * Hiding needs the secret on both sides. Peers pick the secret by the Host Name in SCCRQ/SCCRP,
 * and xl2tpd cannot un-hide AVPs in those two messages, so we hide from SCCCN on (RFC 2661 §4.3
 * allows hiding anywhere; this is the interoperable subset).
 */
const hideFor = (ctx: Ctx, t: Tunnel, type: number): HideOptions | undefined => {
  if (t.secret === null || ctx.engine.config.hide.size === 0) return undefined
  if (type === MessageType.SCCRQ || type === MessageType.SCCRP) return undefined
  return { secret: t.secret.secret, randomVector: ctx.rng.bytes(16), fields: ctx.engine.config.hide }
}

/** Sends a control message reliably on the tunnel (header Session ID given). */
export const sendControl = (ctx: Ctx, t: Tunnel, type: number, avps: Avps, sessionId = 0): void => {
  const hide = hideFor(ctx, t, type)
  const ch = t.channel
  const out = send(
    ch,
    (ns, nr) => encodeControl({ tunnelId: ch.peerTunnelId, sessionId, ns, nr, type, avps }, hide),
    ctx.now,
  )
  for (const bytes of out) ctx.fx.push({ _tag: 'Send', to: t.peer, bytes })
}

/**
 * The AVPs both SCCRQ and SCCRP carry (RFC 2661 §6.1, §6.2; L2-21, L2-22, L2-23). Failover
 * Capability on normal tunnels only, never on a recovery tunnel (RFC 4951 §5.3, FO-06).
 */
export const startAvps = (ctx: Ctx, t: Tunnel) => {
  const c = ctx.engine.config
  return {
    protocolVersion: { ver: 1, rev: 0 },
    hostName: c.hostName,
    framingCapabilities: c.framing,
    bearerCapabilities: c.bearer,
    assignedTunnelId: t.localId,
    receiveWindowSize: c.channel.receiveWindow,
    firmwareRevision: c.firmwareRevision,
    vendorName: c.vendorName,
    ...(c.failover === null || t.recoveryOf !== null ? {} : { failoverCapability: c.failover }),
  }
}

export const transmit = (ctx: Ctx, to: Address, datagrams: readonly Uint8Array[]): void => {
  for (const bytes of datagrams) ctx.fx.push({ _tag: 'Send', to, bytes })
}

export const emit = (ctx: Ctx, event: EventBody): void => {
  ctx.fx.push({ _tag: 'Emit', event })
}

export const arm = (ctx: Ctx, t: Tunnel): void => {
  let at = nextDeadline(t.channel)
  if (t.forgetAt !== null && (at === null || t.forgetAt < at)) at = t.forgetAt
  if (t.recoveryDeadline !== null && (at === null || t.recoveryDeadline < at)) at = t.recoveryDeadline
  const setup = t.setupCheckAt
  if (setup != null && (at === null || setup < at)) at = setup
  ctx.fx.push(
    at === null ? { _tag: 'Disarm', tunnelId: t.localId } : { _tag: 'Arm', tunnelId: t.localId, at },
  )
}

const u16 = (b: Uint8Array): number => (((b[0] as number) << 8) | (b[1] as number)) & 0xffff

/** A random, unused, non-zero 16-bit id (RFC 2661 §9.1: unpredictable ids, L2-07, L2-08). */
/**
 * True when a new tunnel can still get a local id: ids are 1..65535 (0 means "not assigned yet",
 * RFC 2661 §5.1.1), and the ids of tunnels queued for recovery stay reserved (FO-11).
 */
export const tunnelIdLeft = (e: Ctx['engine']): boolean => e.tunnels.size + e.pending.size < 0xffff

export const pickId = (rng: Rng, used: (id: number) => boolean): number => {
  for (let i = 0; i < 64; i++) {
    const id = u16(rng.bytes(2))
    if (id !== 0 && !used(id)) return id
  }
  for (let id = 1; id <= 0xffff; id++) if (!used(id)) return id
  return 0
}

export const peerKey = (a: Address, peerTunnelId: number): string => `${a.host}:${a.port}/${peerTunnelId}`
