// RFC 4951 failover (rfc4951-failover.md §5): the recovery endpoint builds a recovery tunnel
// for an old tunnel of a rehydrated table; the remote endpoint keeps a failed peer's tunnel for
// its Recovery Time (here) and answers the recovery SCCRQ (recovery-remote.ts); both reset the
// old control channel, clear non-established sessions silently (Step I) and synchronise
// sessions with FSQ/FSR (Step III). Sans-IO.
import { tunnelRecovered, tunnelRecoveryFailed, tunnelRecoveryStarted } from '../../contracts/index.js'
import { resetChannel, revive } from '../control/channel.js'
import { CdnResult, type ControlMessage, MessageType, StopCcnResult } from '../wire/index.js'
import { newTunnel } from './make.js'
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
export const restoreOld = (ctx: Ctx, r: RecoverableTunnel): Tunnel => {
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
export const openRecoveryTunnel = (ctx: Ctx, oldT: Tunnel): void => {
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
export const recoveryStarted = (ctx: Ctx, old: Tunnel, rt: Tunnel): void =>
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

/** After the reset: Step I, the D-bit rule, Step III, then calls that waited (FO-34, FO-35, FO-52). */
export const finishReset = (ctx: Ctx, old: Tunnel, rt: Tunnel, scs: { ns: number; nr: number }): void => {
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
