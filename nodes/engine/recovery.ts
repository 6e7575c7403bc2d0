// RFC 4951 failover (rfc4951-failover.md §5): the recovery endpoint builds a recovery tunnel
// for an old tunnel of a rehydrated table; the remote endpoint keeps a failed peer's tunnel for
// its Recovery Time, answers the recovery SCCRQ with a Suggested Control Sequence; both reset
// the old control channel, clear non-established sessions silently (Step I) and synchronise
// sessions with FSQ/FSR (Step III). Sans-IO.
import type { Channel } from '../control/channel.js'
import { type ControlMessage, challengeResponse, MessageType, StopCcnResult } from '../wire/index.js'
import { arm, type Ctx, emit, sendControl } from './io.js'
import { newTunnel } from './make.js'
import type { RecoverableTunnel, Session, Tunnel } from './types.js'
import { setPeerWindowOf } from './window.js'

/** Control channel reset (§5.5): flush both windows, set Ns/Nr, never retransmit old messages. */
export const resetChannel = (ch: Channel, ns: number, nr: number): void => {
  ch.inFlight.length = 0
  ch.backlog.length = 0
  ch.early.clear()
  ch.ns = ns & 0xffff
  ch.nr = nr & 0xffff
  ch.dead = false
  ch.retries = 0
  ch.rtoMs = ch.config.initialTimeoutMs
  ch.retransmitAt = null
  ch.ackAt = null
  ch.cwnd = 1
}

const FSS_PER_MESSAGE = 60

// --- recovery-endpoint role ------------------------------------------------------------------

/** Takes an old tunnel of the rehydrated table and opens its recovery tunnel (§5.3). */
export const startRecovery = (ctx: Ctx, r: RecoverableTunnel): void => {
  const e = ctx.engine
  if (e.tunnels.has(r.localTunnelId)) return
  e.reserved.delete(r.localTunnelId)
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
  // A new local id that is no old tunnel's id (§5.3.3, FO-11): pickId avoids every live id.
  const rt = newTunnel(ctx, r.peer, 'local')
  rt.recoveryOf = oldT.localId
  rt.secret = oldT.secret
  rt.recoveryStartedAt = ctx.now
  rt.ourChallenge = r.authenticated && rt.secret !== null ? ctx.rng.bytes(16) : null
  emit(ctx, {
    type: 'TunnelRecoveryStarted',
    v: 1,
    localTunnelId: oldT.localId,
    recoveryTunnelId: rt.localId,
  } as never)
  const c = e.config
  sendControl(ctx, rt, MessageType.SCCRQ, {
    protocolVersion: { ver: 1, rev: 0 },
    hostName: c.hostName,
    framingCapabilities: c.framing,
    bearerCapabilities: c.bearer,
    assignedTunnelId: rt.localId,
    receiveWindowSize: c.channel.receiveWindow,
    firmwareRevision: c.firmwareRevision,
    vendorName: c.vendorName,
    // No Failover Capability on a recovery tunnel (FO-06); a Tie Breaker is a MUST (FO-10).
    tieBreaker: ctx.rng.bytes(8),
    tunnelRecovery: { recoverTunnelId: oldT.localId, recoverRemoteTunnelId: r.remoteTunnelId },
    ...(rt.ourChallenge ? { challenge: rt.ourChallenge } : {}),
  })
  arm(ctx, rt)
  arm(ctx, oldT)
}

const restoredSession = (s: RecoverableTunnel['sessions'][number]): Session => ({
  localId: s.localSessionId,
  peerId: s.remoteSessionId,
  state: 'established',
  direction: s.direction,
  callSerial: s.callSerial,
  bearer: null,
  framing: 'sync',
  txConnectSpeed: 0,
  rxConnectSpeed: null,
  callingNumber: null,
  calledNumber: null,
  physicalChannelId: null,
  sequencing: s.sequencing,
  wanErrors: 0,
  accm: null,
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
  queryAll(ctx, old)
}

/** The recovery tunnel failed: clear the old tunnel and its sessions silently (§5.3.7, FO-27). */
export const recoveryFailed = (ctx: Ctx, rt: Tunnel, reason: string): void => {
  const old = rt.recoveryOf === null ? undefined : ctx.engine.tunnels.get(rt.recoveryOf)
  if (old === undefined || !old.recovering) return
  ctx.engine.tunnels.delete(old.localId)
  ctx.fx.push({ _tag: 'Arm', tunnelId: old.localId, at: null })
  emit(ctx, {
    type: 'TunnelRecoveryFailed',
    v: 1,
    localTunnelId: old.localId,
    reason,
    durationMs: ctx.now - (old.recoveryStartedAt ?? ctx.now),
  } as never)
  ctx.fx.push({ _tag: 'TunnelDown', tunnelId: old.localId, reason: `recovery failed: ${reason}` })
}

// --- remote-endpoint role ----------------------------------------------------------------------

/** Remote endpoint, recovery SCCRQ (§5.4): validate, answer SCCRP with SCS, or StopCCN (FO-16, FO-17). */
export const onRecoverySccrq = (ctx: Ctx, rt: Tunnel, m: ControlMessage): void => {
  const rec = m.avps.tunnelRecovery
  if (rec === undefined) return
  const old = ctx.engine.tunnels.get(rec.recoverRemoteTunnelId)
  const refuse = (why: string) => {
    sendControl(ctx, rt, MessageType.StopCCN, {
      assignedTunnelId: rt.localId,
      resultCode: { result: StopCcnResult.GeneralError, error: 3, message: why },
    })
    rt.state = 'closing'
    rt.forgetAt = ctx.now + ctx.engine.config.lingerMs
  }
  if (
    old === undefined ||
    old.peerAssignedId !== rec.recoverTunnelId ||
    old.peer.host !== rt.peer.host ||
    old.recoveryOf !== null
  ) {
    return refuse('no such tunnel to recover')
  }
  if (old.state !== 'established') return refuse('tunnel is not established')
  if (old.recovering) {
    // Double failover: the recovery endpoint died during recovery and a newer one asks now.
    // The newer recovery supersedes the unfinished one (whose recovery tunnel is forgotten).
    for (const other of [...ctx.engine.tunnels.values()]) {
      if (other !== rt && other.recoveryOf === old.localId) {
        ctx.engine.tunnels.delete(other.localId)
        ctx.fx.push({ _tag: 'Arm', tunnelId: other.localId, at: null })
      }
    }
  }
  if (ctx.engine.config.failover === null || old.peerFailover === null || !old.peerFailover.control) {
    return refuse('tunnel was not failover capable')
  }
  rt.recoveryOf = old.localId
  rt.secret = old.secret
  rt.recoveryStartedAt = ctx.now
  old.recovering = true
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
  const c = ctx.engine.config
  const response =
    m.avps.challenge && rt.secret
      ? challengeResponse(MessageType.SCCRP, rt.secret.secret, m.avps.challenge)
      : undefined
  emit(ctx, {
    type: 'TunnelRecoveryStarted',
    v: 1,
    localTunnelId: old.localId,
    recoveryTunnelId: rt.localId,
  } as never)
  sendControl(ctx, rt, MessageType.SCCRP, {
    protocolVersion: { ver: 1, rev: 0 },
    hostName: c.hostName,
    framingCapabilities: c.framing,
    bearerCapabilities: c.bearer,
    assignedTunnelId: rt.localId,
    receiveWindowSize: c.channel.receiveWindow,
    suggestedControlSequence: suggested,
    ...(rt.ourChallenge ? { challenge: rt.ourChallenge } : {}),
    ...(response ? { challengeResponse: response } : {}),
  })
  rt.state = 'wait-ctl-conn'
}

/** Remote endpoint, valid SCCCN on the recovery tunnel: mirror reset of the old tunnel (FO-23). */
export const recoveredAsResponder = (ctx: Ctx, rt: Tunnel): void => {
  const old = rt.recoveryOf === null ? undefined : ctx.engine.tunnels.get(rt.recoveryOf)
  if (old === undefined) return
  const s = rt.suggested ?? { ns: 0, nr: 0 }
  resetChannel(old.channel, s.nr, s.ns)
  old.recoveryDeadline = null
  finishReset(ctx, old, rt, s)
  queryAll(ctx, old)
}

const finishReset = (ctx: Ctx, old: Tunnel, rt: Tunnel, scs: { ns: number; nr: number }): void => {
  old.recovering = false
  old.recoveryDeadline = null
  old.state = 'established'
  old.channel.lastHeardAt = ctx.now
  // Step I: sessions not established at the failure are cleared silently (FO-34).
  let cleared = 0
  for (const [id, s] of old.sessions) {
    if (s.state !== 'established') {
      old.sessions.delete(id)
      cleared++
    }
  }
  emit(ctx, {
    type: 'TunnelRecovered',
    v: 1,
    localTunnelId: old.localId,
    recoveryTunnelId: rt.localId,
    suggestedNs: scs.ns,
    suggestedNr: scs.nr,
    sessionsKept: old.sessions.size,
    sessionsCleared: cleared,
    durationMs: ctx.now - (old.recoveryStartedAt ?? ctx.now),
  } as never)
  ctx.fx.push({ _tag: 'TunnelUp', tunnelId: old.localId })
  arm(ctx, old)
}

// --- Step III: FSQ / FSR -----------------------------------------------------------------------

/** Queries every session of a recovered tunnel (FSQ, one FSS per session; FO-36). */
export const queryAll = (ctx: Ctx, t: Tunnel): void => {
  const all = [...t.sessions.values()].map((s) => ({ sessionId: s.localId, remoteSessionId: s.peerId }))
  for (let i = 0; i < all.length; i += FSS_PER_MESSAGE) {
    sendControl(ctx, t, MessageType.FSQ, { failoverSessionStates: all.slice(i, i + FSS_PER_MESSAGE) })
  }
}

/** Answers an FSQ: (own id, their id) when paired, (0, their id) otherwise (FO-41, FO-42, FO-43). */
export const onFsq = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const answers = (m.avps.failoverSessionStates ?? []).map((q) => {
    const local = t.sessions.get(q.remoteSessionId)
    return local !== undefined && local.peerId === q.sessionId
      ? { sessionId: local.localId, remoteSessionId: q.sessionId }
      : { sessionId: 0, remoteSessionId: q.sessionId }
  })
  for (let i = 0; i < answers.length; i += FSS_PER_MESSAGE) {
    sendControl(ctx, t, MessageType.FSR, { failoverSessionStates: answers.slice(i, i + FSS_PER_MESSAGE) })
  }
}

/** On FSR: Session ID 0 clears our session silently (no CDN, FO-45); others stay (FO-46). */
export const onFsr = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const cleared: number[] = []
  for (const a of m.avps.failoverSessionStates ?? []) {
    if (a.sessionId !== 0) continue
    if (t.sessions.delete(a.remoteSessionId)) cleared.push(a.remoteSessionId)
  }
  emit(ctx, {
    type: 'SessionsReconciled',
    v: 1,
    localTunnelId: t.localId,
    clearedSessionIds: cleared,
    kept: t.sessions.size,
  } as never)
}

// --- the failed peer's silence (§5.2) ---------------------------------------------------------

/** Retransmissions to a C-capable peer ran out: keep the tunnel for its Recovery Time (FO-29). */
export const awaitRecovery = (ctx: Ctx, t: Tunnel): boolean => {
  const fo = t.peerFailover
  if (fo === null || !fo.control || ctx.engine.config.failover === null || t.state !== 'established')
    return false
  if (t.recoveryDeadline === null) t.recoveryDeadline = ctx.now + fo.recoveryTimeMs
  return ctx.now < t.recoveryDeadline
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
