// Building a tunnel record of the engine (shared by the engine and RFC 4951 recovery). Sans-IO.
import type { Address } from '../../contracts/index.js'
import { openChannel } from '../control/channel.js'
import { type Ctx, peerKey, pickId } from './step-context.js'
import type { Tunnel } from './types.js'
import { DEFAULT_WINDOW } from './window.js'

export const newTunnel = (ctx: Ctx, peer: Address, originator: Tunnel['originator']): Tunnel => {
  const e = ctx.engine
  const localId = pickId(ctx.rng, (id) => e.tunnels.has(id) || e.pending.has(id))
  const t: Tunnel = {
    localId,
    peer,
    state: originator === 'local' ? 'wait-ctl-reply' : 'wait-ctl-conn',
    originator,
    channel: openChannel(e.config.channel, ctx.now, DEFAULT_WINDOW),
    peerHostName: '',
    peerVendorName: null,
    peerFirmwareRevision: null,
    peerFraming: { sync: false, async: false },
    peerBearer: { digital: false, analog: false },
    peerWindow: DEFAULT_WINDOW,
    peerFailover: null,
    ourChallenge: null,
    peerAssignedId: 0,
    authenticated: false,
    secret: originator === 'local' ? e.config.secretFor(null) : null,
    sessions: new Map(),
    forgetAt: null,
    establishedReported: false,
    recoveryOf: null,
    recoveryTunnel: null,
    recovering: false,
    recoveryDeadline: null,
    suggested: null,
    recoveryStartedAt: null,
  }
  e.tunnels.set(localId, t)
  return t
}

/** Lexicographic (= unsigned big-endian) comparison of two Tie Breaker values (RFC 2661 §4.4.3). */
export const compareTie = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++)
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

/**
 * Who wins a tie between our outstanding SCCRQ and the peer's (lower value wins; only one
 * present: it wins). Negative: ours wins; positive: theirs; 0: equal, both are dropped.
 */
export const tieOrder = (ours: Uint8Array | null, theirs: Uint8Array | null): number =>
  ours === null ? 1 : theirs === null ? -1 : compareTie(ours, theirs)

/** Forgets a tunnel silently: no StopCCN, no linger (a lost tie, a superseded recovery). */
export const discardTunnel = (ctx: Ctx, t: Tunnel): void => {
  ctx.engine.tunnels.delete(t.localId)
  const key = peerKey(t.peer, t.channel.peerTunnelId)
  if (ctx.engine.byPeer.get(key) === t.localId) ctx.engine.byPeer.delete(key)
  ctx.fx.push({ _tag: 'Disarm', tunnelId: t.localId })
}
