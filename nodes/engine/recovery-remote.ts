// RFC 4951 failover, the remote endpoint's side (rfc4951-failover.md §5.4, §5.6): a failed peer's
// recovery endpoint sends a recovery SCCRQ naming one of our tunnels; we check it may recover
// that tunnel from where it speaks, settle crossing recoveries by Tie Breaker, and answer SCCRP
// with a Suggested Control Sequence; its valid SCCCN resets the old tunnel. Sans-IO.

import { resetChannel } from '../control/channel.js'
import { type ControlMessage, challengeResponse, MessageType, StopCcnResult } from '../wire/index.js'
import { discardTunnel, tieOrder } from './make.js'
import { finishReset, openRecoveryTunnel, recoveryStarted, restoreOld } from './recovery.js'
import { type Ctx, sendControl, startAvps } from './step-context.js'
import type { Tunnel } from './types.js'

/**
 * Remote endpoint, recovery SCCRQ (§5.4): validate, answer SCCRP with SCS, or StopCCN (FO-16,
 * FO-17, FO-18, FO-54). When we are a recovery endpoint for the same old tunnel too (both sides
 * failed over, §5.6), the Tie Breakers of the two recovery SCCRQs decide, and the loser becomes
 * the remote endpoint of the winner's recovery tunnel (FO-33).
 */
export const onRecoverySccrq = (ctx: Ctx, rt: Tunnel, m: ControlMessage): void => {
  const rec = m.avps.tunnelRecovery
  if (rec === undefined) return
  const found = recoveryTarget(ctx, rt, m, rec)
  if (found._tag === 'WrongPort') return wrongPort(ctx, rt, found.oldId)
  if (found._tag === 'Refuse') return refuseRecovery(ctx, rt, found.why, found.ours)
  const old = found.old
  const crossing = settleCrossing(ctx, rt, old, m)
  if (crossing === 'we-win') return discardTunnel(ctx, rt) // their recovery SCCRQ is silently discarded
  if (crossing === 'tie') {
    discardTunnel(ctx, rt) // equal: both drop; we try again with a fresh Tie Breaker
    return openRecoveryTunnel(ctx, old)
  }
  // Lost the tie: ours was dropped, we answer theirs as remote endpoint, and a refusal leaves it ours.
  const ours = crossing === 'we-lose' ? old : found.ours
  if (ctx.engine.config.failover === null || old.peerFailover === null || !old.peerFailover.control)
    return refuseRecovery(ctx, rt, 'tunnel was not failover capable', ours)
  answerRecovery(ctx, rt, old, m, ours)
}

type RecoveryTarget =
  | { readonly _tag: 'Found'; readonly old: Tunnel; readonly ours: Tunnel | null }
  | { readonly _tag: 'Refuse'; readonly why: string; readonly ours: Tunnel | null }
  | { readonly _tag: 'WrongPort'; readonly oldId: number }

/**
 * The old tunnel a recovery SCCRQ names, if it may be recovered from where the SCCRQ came.
 * `ours`: the old tunnel was queued for our own recovery (both sides failed over, §5.6) and is
 * restored now: the peer recovers it first, and a refusal leaves it ours to recover.
 */
const recoveryTarget = (
  ctx: Ctx,
  rt: Tunnel,
  m: ControlMessage,
  rec: { recoverTunnelId: number; recoverRemoteTunnelId: number },
): RecoveryTarget => {
  const e = ctx.engine
  // The old tunnel's version only (FO-18): L2TPv2 is Protocol Version 1.0.
  const v = m.avps.protocolVersion
  if (v === undefined || v.ver !== 1 || v.rev !== 0)
    return { _tag: 'Refuse', why: 'recovery tunnel version differs from the old tunnel', ours: null }
  let ours: Tunnel | null = null
  const queued = e.pending.get(rec.recoverRemoteTunnelId)
  if (
    queued !== undefined &&
    queued.remoteTunnelId === rec.recoverTunnelId &&
    queued.peer.host === rt.peer.host
  ) {
    if (queued.peer.port !== rt.peer.port) return { _tag: 'WrongPort', oldId: queued.localTunnelId }
    ours = restoreOld(ctx, queued)
  }
  const old = ours ?? e.tunnels.get(rec.recoverRemoteTunnelId)
  if (old === undefined || old.peerAssignedId !== rec.recoverTunnelId || old.recoveryOf !== null)
    return { _tag: 'Refuse', why: 'no such tunnel to recover', ours }
  // Only the old tunnel's own peer address may recover it (§8, FO-54): the strictest allow-list.
  if (old.peer.host !== rt.peer.host)
    return { _tag: 'Refuse', why: 'recovery not allowed from this address', ours }
  // And only from its own UDP port: the recovered tunnel keeps its UDP addressing (§5.5), so a
  // genuine recovery endpoint speaks from the old port; any other port is a spoof (FO-54, L2-53).
  if (old.peer.port !== rt.peer.port) return { _tag: 'WrongPort', oldId: old.localId }
  if (old.state !== 'established') return { _tag: 'Refuse', why: 'tunnel is not established', ours }
  return { _tag: 'Found', old, ours }
}

/**
 * Another recovery tunnel working on the same old tunnel. Ours still waiting for its SCCRP:
 * crossing recovery SCCRQs, the Tie Breakers decide in a scope of their own (FO-32, FO-33).
 * An unfinished one of a recovery endpoint that died meanwhile (double failover): the newer
 * recovery supersedes it and it is forgotten.
 */
const settleCrossing = (
  ctx: Ctx,
  rt: Tunnel,
  old: Tunnel,
  m: ControlMessage,
): 'none' | 'we-win' | 'we-lose' | 'tie' => {
  const current = old.recoveryTunnel === null ? undefined : ctx.engine.tunnels.get(old.recoveryTunnel)
  const other = current === rt || current?.recoveryOf !== old.localId ? undefined : current
  const mine = other?.originator === 'local' && other.state === 'wait-ctl-reply' ? other : undefined
  if (mine !== undefined) {
    const order = tieOrder(mine.ourTieBreaker ?? null, m.avps.tieBreaker ?? null)
    if (order < 0) return 'we-win'
    discardTunnel(ctx, mine)
    return order === 0 ? 'tie' : 'we-lose'
  }
  if (other !== undefined && (old.recovering || other.originator === 'peer')) discardTunnel(ctx, other)
  return 'none'
}

/** StopCCN 2/3 on the recovery tunnel (FO-16, FO-17); an old tunnel of ours goes back to our own recovery. */
const refuseRecovery = (ctx: Ctx, rt: Tunnel, why: string, ours: Tunnel | null): void => {
  sendControl(ctx, rt, MessageType.StopCCN, {
    assignedTunnelId: rt.localId,
    resultCode: { result: StopCcnResult.GeneralError, error: 3, message: why },
  })
  rt.state = 'closing'
  rt.forgetAt = ctx.now + ctx.engine.config.lingerMs
  if (ours !== null) openRecoveryTunnel(ctx, ours)
}

/** SCCRP with the Suggested Control Sequence (§5.4), the recovery tunnel bound to the old one. */
const answerRecovery = (ctx: Ctx, rt: Tunnel, old: Tunnel, m: ControlMessage, ours: Tunnel | null): void => {
  rt.recoveryOf = old.localId
  old.recoveryTunnel = rt.localId
  rt.secret = old.secret
  rt.recoveryStartedAt = ctx.now
  // The old tunnel is not frozen yet (§8): it keeps answering HELLO and carrying its sessions
  // until the recovery tunnel has authenticated, on a valid SCCCN, where its reset follows at
  // once (recoveredAsResponder). A recovery SCCRQ that fails its challenge or times out leaves it
  // as it was. (When we were a recovery endpoint for it too, `ours`, it stays frozen.)
  old.recoveryStartedAt = ctx.now
  if (m.avps.challenge !== undefined && rt.secret === null)
    return refuseRecovery(ctx, rt, 'challenged, but no secret for this peer', ours)
  // Suggested Nr = our next Ns; Suggested Ns = our Nr plus our window, so that stale in-flight
  // messages of the failed peer fall into the old half after the reset (§5.4, INTERPRETATION).
  const suggested = {
    ns: (old.channel.nr + ctx.engine.config.channel.receiveWindow) & 0xffff,
    nr: old.channel.ns,
  }
  rt.suggested = suggested
  rt.ourChallenge = old.authenticated && rt.secret !== null ? ctx.rng.bytes(16) : null
  const response =
    m.avps.challenge && rt.secret
      ? challengeResponse(MessageType.SCCRP, rt.secret.secret, m.avps.challenge)
      : undefined
  recoveryStarted(ctx, old, rt)
  sendControl(ctx, rt, MessageType.SCCRP, {
    ...startAvps(ctx, rt),
    suggestedControlSequence: suggested,
    ...(rt.ourChallenge ? { challenge: rt.ourChallenge } : {}),
    ...(response ? { challengeResponse: response } : {}),
  })
  rt.state = 'wait-ctl-conn'
}

/**
 * A recovery SCCRQ from the old tunnel's peer address but another UDP port: silently discarded and
 * counted, like any control packet from a wrong source (RFC 2661 §8.1, L2-53). No StopCCN: the
 * sender is not the peer, and an answer would confirm the tunnel ids to a prober (RFC 4951 §8).
 * The old tunnel (or the queued one) is untouched.
 */
const wrongPort = (ctx: Ctx, rt: Tunnel, oldId: number): void => {
  discardTunnel(ctx, rt)
  ctx.engine.stats.discarded++
  ctx.fx.push({
    _tag: 'Dropped',
    reason: `recovery SCCRQ for tunnel ${oldId} from a wrong source port ${rt.peer.host}:${rt.peer.port}`,
  })
}

/**
 * Remote endpoint: a recovery tunnel of the peer's is working on `t` and has not failed yet; the
 * Recovery timer of §5.2 does not clear `t` meanwhile.
 */
export const recoveryPending = (ctx: Ctx, t: Tunnel): boolean => {
  const rt = t.recoveryTunnel === null ? undefined : ctx.engine.tunnels.get(t.recoveryTunnel)
  return rt !== undefined && rt.recoveryOf === t.localId && rt.state !== 'closing'
}

/** Remote endpoint, valid SCCCN on the recovery tunnel: mirror reset of the old tunnel (FO-23). */
export const recoveredAsResponder = (ctx: Ctx, rt: Tunnel): void => {
  const old = rt.recoveryOf === null ? undefined : ctx.engine.tunnels.get(rt.recoveryOf)
  if (old === undefined) return
  const s = rt.suggested ?? { ns: 0, nr: 0 }
  resetChannel(old.channel, s.nr, s.ns)
  old.recoveryDeadline = null
  finishReset(ctx, old, rt, s)
}
