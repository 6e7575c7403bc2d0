// RFC 4951 failover (rfc4951-failover.md §5): the recovery endpoint builds a recovery tunnel
// for an old tunnel of a rehydrated table; the remote endpoint keeps a failed peer's tunnel for
// its Recovery Time, answers the recovery SCCRQ with a Suggested Control Sequence; both reset
// the old control channel, clear non-established sessions silently (Step I) and synchronise
// sessions with FSQ/FSR (Step III). Sans-IO.
import { tunnelRecovered, tunnelRecoveryFailed, tunnelRecoveryStarted } from '../../contracts/index.js'
import { resetChannel, revive } from '../control/channel.js'
import {
  CdnResult,
  type ControlMessage,
  challengeResponse,
  MessageType,
  StopCcnResult,
} from '../wire/index.js'
import { discardTunnel, newTunnel, tieOrder } from './make.js'
import { closeSession, dropSession, newSession, sendRequest } from './session.js'
import { queryAll } from './session-sync.js'
import { arm, type Ctx, emit, sendControl, startAvps } from './step-context.js'
import type { RecoverableTunnel, Session, Tunnel } from './types.js'
import { setPeerWindowOf } from './window.js'

// --- recovery-endpoint role ------------------------------------------------------------------

/** Takes an old tunnel of the rehydrated table and opens its recovery tunnel (§5.3). */
export const startRecovery = (ctx: Ctx, r: RecoverableTunnel): void => {
  if (ctx.engine.tunnels.has(r.localTunnelId)) {
    ctx.engine.pending.delete(r.localTunnelId)
    return // recovered already (the peer asked first)
  }
  openRecoveryTunnel(ctx, restoreOld(ctx, r))
}

/** The old tunnel back in the engine, awaiting its control channel reset (§5.5, §5.8). */
const restoreOld = (ctx: Ctx, r: RecoverableTunnel): Tunnel => {
  const e = ctx.engine
  e.pending.delete(r.localTunnelId)
  const old = newTunnel(ctx, r.peer, 'peer')
  // The old tunnel keeps its ids (§5.5.3): re-key the record newTunnel made.
  e.tunnels.delete(old.localId)
  const oldT: Tunnel = { ...old, localId: r.localTunnelId }
  e.tunnels.set(oldT.localId, oldT)
  oldT.state = 'established'
  oldT.recovering = true
  oldT.peerAssignedId = r.remoteTunnelId
  oldT.channel.peerTunnelId = r.remoteTunnelId
  oldT.peerHostName = r.peerHostName
  oldT.peerFailover = r.peerFailover
  oldT.peerFraming = r.peerFraming
  oldT.peerBearer = r.peerBearer
  oldT.authenticated = r.authenticated
  oldT.establishedReported = true
  oldT.secret = e.config.secretFor(r.peerHostName)
  oldT.recoveryStartedAt = ctx.now
  setPeerWindowOf(oldT, r.peerWindow)
  for (const s of r.sessions) oldT.sessions.set(s.localSessionId, restoredSession(s))
  // New session ids avoid the ones the previous owner released lately (FO-48).
  const released = r.releasedSessionIds ?? []
  if (released.length > 0) oldT.released = { order: [...released], set: new Set(released) }
  arm(ctx, oldT)
  return oldT
}

/** A recovery SCCRQ for the old tunnel on a new tunnel (FO-08..FO-12, FO-14). */
const openRecoveryTunnel = (ctx: Ctx, oldT: Tunnel): void => {
  // A new local id that is no old tunnel's id (§5.3.3, FO-11): pickId avoids every live id.
  const rt = newTunnel(ctx, oldT.peer, 'local')
  rt.recoveryOf = oldT.localId
  oldT.recoveryTunnel = rt.localId
  // The old tunnel's secret authenticates the recovery tunnel (FO-14).
  rt.secret = oldT.secret
  rt.recoveryStartedAt = ctx.now
  rt.ourChallenge = oldT.authenticated && rt.secret !== null ? ctx.rng.bytes(16) : null
  // A Tie Breaker is a MUST (FO-10); it is compared only with the peer's recovery SCCRQ for the
  // same old tunnel (§5.6, FO-32).
  rt.ourTieBreaker = ctx.rng.bytes(8)
  recoveryStarted(ctx, oldT, rt)
  // The old tunnel's version (FO-12): L2TPv2, Protocol Version 1.0 and header Ver=2; no Failover
  // Capability on a recovery tunnel (FO-06, startAvps).
  sendControl(ctx, rt, MessageType.SCCRQ, {
    ...startAvps(ctx, rt),
    tieBreaker: rt.ourTieBreaker,
    tunnelRecovery: { recoverTunnelId: oldT.localId, recoverRemoteTunnelId: oldT.peerAssignedId },
    ...(rt.ourChallenge ? { challenge: rt.ourChallenge } : {}),
  })
  arm(ctx, rt)
}

// The recovery endpoint restarts its data Ns at 0 and takes the peer's from its first packet
// (FO-49): a fresh record, established.
const recoveryStarted = (ctx: Ctx, old: Tunnel, rt: Tunnel): void =>
  emit(ctx, tunnelRecoveryStarted(old.localId, rt.localId))

const restoredSession = (s: RecoverableTunnel['sessions'][number]): Session => ({
  ...newSession(s.localSessionId, s.direction, s.callSerial),
  peerId: s.remoteSessionId,
  state: 'established',
  sequencing: s.sequencing,
})

/** Recovery endpoint, valid SCCRP on the recovery tunnel: reset the old one with the SCS (FO-21, FO-22). */
export const recoveredAsInitiator = (ctx: Ctx, rt: Tunnel, m: ControlMessage): void => {
  const old = rt.recoveryOf === null ? undefined : ctx.engine.tunnels.get(rt.recoveryOf)
  if (old === undefined) return
  const scs = m.avps.suggestedControlSequence ?? { ns: 0, nr: 0 }
  resetChannel(old.channel, scs.ns, scs.nr)
  finishReset(ctx, old, rt, scs)
  // The recovery tunnel has done its job (§5.7): tear it down; the old tunnel survives (FO-26).
  sendControl(ctx, rt, MessageType.StopCCN, {
    assignedTunnelId: rt.localId,
    resultCode: { result: StopCcnResult.GeneralClear, error: null, message: 'recovery complete' },
  })
  rt.state = 'closing'
  rt.forgetAt = ctx.now + ctx.engine.config.lingerMs
}

/** The recovery tunnel failed: clear the old tunnel and its sessions silently (§5.3.7, FO-27). */
export const recoveryFailed = (ctx: Ctx, rt: Tunnel, reason: string): void => {
  const old = rt.recoveryOf === null ? undefined : ctx.engine.tunnels.get(rt.recoveryOf)
  if (old === undefined || !old.recovering) return
  ctx.engine.tunnels.delete(old.localId)
  ctx.fx.push({ _tag: 'Disarm', tunnelId: old.localId })
  emit(ctx, tunnelRecoveryFailed(old.localId, reason, ctx.now - (old.recoveryStartedAt ?? ctx.now)))
  ctx.fx.push({ _tag: 'TunnelDown', tunnelId: old.localId, reason: `recovery failed: ${reason}` })
}

// --- remote-endpoint role ----------------------------------------------------------------------

/**
 * Remote endpoint, recovery SCCRQ (§5.4): validate, answer SCCRP with SCS, or StopCCN (FO-16,
 * FO-17, FO-18, FO-54). When we are a recovery endpoint for the same old tunnel too (both sides
 * failed over, §5.6), the Tie Breakers of the two recovery SCCRQs decide, and the loser becomes
 * the remote endpoint of the winner's recovery tunnel (FO-33).
 */
export const onRecoverySccrq = (ctx: Ctx, rt: Tunnel, m: ControlMessage): void => {
  const rec = m.avps.tunnelRecovery
  if (rec === undefined) return
  const e = ctx.engine
  // Set when we are a recovery endpoint for this old tunnel too: a refusal leaves it ours to recover.
  let ours: Tunnel | null = null
  const refuse = (why: string) => {
    sendControl(ctx, rt, MessageType.StopCCN, {
      assignedTunnelId: rt.localId,
      resultCode: { result: StopCcnResult.GeneralError, error: 3, message: why },
    })
    rt.state = 'closing'
    rt.forgetAt = ctx.now + e.config.lingerMs
    if (ours !== null) openRecoveryTunnel(ctx, ours)
  }
  // The old tunnel's version only (FO-18): L2TPv2 is Protocol Version 1.0.
  const v = m.avps.protocolVersion
  if (v === undefined || v.ver !== 1 || v.rev !== 0)
    return refuse('recovery tunnel version differs from the old tunnel')
  // Queued for our own recovery and not started yet: the peer recovers it first (§5.6).
  const queued = e.pending.get(rec.recoverRemoteTunnelId)
  if (
    queued !== undefined &&
    queued.remoteTunnelId === rec.recoverTunnelId &&
    queued.peer.host === rt.peer.host
  ) {
    if (queued.peer.port !== rt.peer.port) return wrongPort(ctx, rt, queued.localTunnelId)
    ours = restoreOld(ctx, queued)
  }
  const old = ours ?? e.tunnels.get(rec.recoverRemoteTunnelId)
  if (old === undefined || old.peerAssignedId !== rec.recoverTunnelId || old.recoveryOf !== null) {
    return refuse('no such tunnel to recover')
  }
  // Only the old tunnel's own peer address may recover it (§8, FO-54): the strictest allow-list.
  if (old.peer.host !== rt.peer.host) {
    return refuse('recovery not allowed from this address')
  }
  // And only from its own UDP port: the recovered tunnel keeps its UDP addressing (§5.5), so a
  // genuine recovery endpoint speaks from the old port; any other port is a spoof (FO-54, L2-53).
  if (old.peer.port !== rt.peer.port) return wrongPort(ctx, rt, old.localId)
  if (old.state !== 'established') return refuse('tunnel is not established')
  // The recovery tunnel working on this old tunnel so far, ours or a previous peer's.
  const current = old.recoveryTunnel === null ? undefined : e.tunnels.get(old.recoveryTunnel)
  const other = current === rt || current?.recoveryOf !== old.localId ? undefined : current
  const mine = other?.originator === 'local' && other.state === 'wait-ctl-reply' ? other : undefined
  if (mine !== undefined) {
    // Crossing recovery SCCRQs for the same old tunnel (FO-33); a tie scope of its own (FO-32).
    const order = tieOrder(mine.ourTieBreaker ?? null, m.avps.tieBreaker ?? null)
    if (order < 0) {
      discardTunnel(ctx, rt) // we win: their recovery SCCRQ is silently discarded
      return
    }
    discardTunnel(ctx, mine) // we lose: ours is dropped, we answer theirs as remote endpoint
    ours = old
    if (order === 0) {
      discardTunnel(ctx, rt) // equal: both drop; we try again with a fresh Tie Breaker
      openRecoveryTunnel(ctx, old)
      return
    }
  } else if (other !== undefined && (old.recovering || other.originator === 'peer')) {
    // Double failover: the recovery endpoint died during recovery and a newer one asks now.
    // The newer recovery supersedes the unfinished one (whose recovery tunnel is forgotten).
    discardTunnel(ctx, other)
  }
  if (ctx.engine.config.failover === null || old.peerFailover === null || !old.peerFailover.control) {
    return refuse('tunnel was not failover capable')
  }
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
    return refuse('challenged, but no secret for this peer')
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

/** After the reset: Step I, the D-bit rule, Step III, then calls that waited (FO-34, FO-35, FO-52). */
const finishReset = (ctx: Ctx, old: Tunnel, rt: Tunnel, scs: { ns: number; nr: number }): void => {
  old.recovering = false
  old.recoveryDeadline = null
  old.state = 'established'
  old.channel.lastHeardAt = ctx.now
  // Step I: sessions not established at the failure are cleared silently (FO-34). Calls asked
  // for during the recovery (waiting for the tunnel) are not of the failure: they start below.
  let cleared = 0
  for (const [id, s] of old.sessions) {
    if (s.state !== 'established' && s.state !== 'wait-tunnel') {
      dropSession(old, id)
      cleared++
    }
  }
  emit(
    ctx,
    tunnelRecovered(old.localId, {
      recoveryTunnelId: rt.localId,
      suggestedNs: scs.ns,
      suggestedNr: scs.nr,
      sessionsKept: old.sessions.size,
      sessionsCleared: cleared,
      durationMs: ctx.now - (old.recoveryStartedAt ?? ctx.now),
    }),
  )
  // No TunnelUp effect: the tunnel was up all along for the peer and its calls; TunnelUp means a
  // new tunnel (the simulator opens its calls on it), TunnelRecovered says this.
  // Sequenced data channels cannot be recovered unless both sides advertised D (§6, FO-52): the
  // recovery endpoint clears them with CDN.
  const dataRecoverable = ctx.engine.config.failover?.data === true && old.peerFailover?.data === true
  if (rt.originator === 'local' && !dataRecoverable) {
    for (const s of [...old.sessions.values()]) {
      if (s.state === 'established' && s.sequencing)
        closeSession(ctx, old, s, CdnResult.Administrative, null, 'sequenced data channel not recoverable')
    }
  }
  queryAll(ctx, old)
  for (const s of old.sessions.values()) if (s.state === 'wait-tunnel') sendRequest(ctx, old, s)
  arm(ctx, old)
}

// --- the failed peer's silence (§5.2) ---------------------------------------------------------

/**
 * Retransmissions to a C-capable peer ran out: keep the tunnel until the peer's Recovery Time,
 * counted from when the retransmission timer started, has run too (§5.2, FO-29).
 */
export const awaitRecovery = (ctx: Ctx, t: Tunnel): boolean => {
  const fo = t.peerFailover
  if (fo === null || !fo.control || ctx.engine.config.failover === null || t.state !== 'established')
    return false
  if (t.recoveryDeadline === null) t.recoveryDeadline = (t.channel.silentSince ?? ctx.now) + fo.recoveryTimeMs
  return ctx.now < t.recoveryDeadline
}

/**
 * The silent peer spoke on the old tunnel while we waited for its recovery: no failover after
 * all (§5.2). Once our outstanding messages are acknowledged the Recovery timer stops (FO-30);
 * until then they are retransmitted again, with a fresh retry budget.
 */
export const peerSpokeAgain = (t: Tunnel, now: number): void => {
  if (t.recoveryDeadline === null || !t.channel.dead) return
  if (revive(t.channel, now) === 'idle') t.recoveryDeadline = null
}

/**
 * A recovery tunnel ended (StopCCN either way, or dead). Before the reset, the recovery endpoint
 * has failed (FO-27) and the remote endpoint lets the old tunnel await another attempt.
 */
export const recoveryTunnelClosed = (ctx: Ctx, rt: Tunnel, reason: string): void => {
  const old = rt.recoveryOf === null ? undefined : ctx.engine.tunnels.get(rt.recoveryOf)
  if (old === undefined || !old.recovering) return
  if (rt.originator === 'local') recoveryFailed(ctx, rt, reason)
  else old.recovering = false
}
