// Control connection FSM (RFC 2661 §7.2; l2tpv2.md §10.1): SCCRQ/SCCRP/SCCCN/StopCCN/HELLO as
// initiator and responder, challenge authentication, teardown with linger. Sans-IO.
import { setupRejected, tunnelClosed, tunnelEstablished } from '../../contracts/index.js'
import {
  type ControlMessage,
  challengeResponse,
  ErrorCode,
  MessageType,
  StopCcnResult,
} from '../wire/index.js'
import { fileUnder, liveUnder } from './host-index.js'
import { discardTunnel, tieOrder } from './make.js'
import { recoveredAsInitiator, recoveryTunnelClosed } from './recovery.js'
import { onRecoverySccrq, recoveredAsResponder } from './recovery-remote.js'
import { arm, type Ctx, emit, sendControl, startAvps } from './step-context.js'
import { type Engine, REFUSED, type Tunnel } from './types.js'
import { DEFAULT_WINDOW, setPeerWindowOf } from './window.js'

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

const newChallenge = (ctx: Ctx, t: Tunnel): Uint8Array | null =>
  ctx.engine.config.challenge && t.secret !== null ? ctx.rng.bytes(16) : null

/** Our normal tunnel still awaiting its SCCRP: a tie-breaker rival (RFC 2661 §4.4.3). */
const awaitingReply = (e: Engine, x: Tunnel): boolean =>
  e.tunnels.get(x.localId) === x &&
  x.originator === 'local' &&
  x.state === 'wait-ctl-reply' &&
  x.recoveryOf === null

/** Initiator: sends SCCRQ (Tunnel ID 0 in the header until the peer assigns one; L2-05). */
export const startTunnel = (ctx: Ctx, t: Tunnel): void => {
  if (t.recoveryOf === null) fileUnder(ctx.engine, ctx.engine.opening, t, awaitingReply)
  t.ourChallenge = newChallenge(ctx, t)
  t.ourTieBreaker = ctx.engine.config.tieBreaker === true ? ctx.rng.bytes(8) : null
  sendControl(ctx, t, MessageType.SCCRQ, {
    ...startAvps(ctx, t),
    ...(t.ourChallenge ? { challenge: t.ourChallenge } : {}),
    ...(t.ourTieBreaker ? { tieBreaker: t.ourTieBreaker } : {}),
  })
  arm(ctx, t)
}

/** Records what the peer said about itself in SCCRQ/SCCRP. */
const learnPeer = (t: Tunnel, m: ControlMessage): void => {
  const a = m.avps
  t.peerHostName = a.hostName ?? ''
  t.peerVendorName = a.vendorName ?? null
  t.peerFirmwareRevision = a.firmwareRevision ?? null
  t.peerFraming = a.framingCapabilities ?? { sync: false, async: false }
  t.peerBearer = a.bearerCapabilities ?? { digital: false, analog: false }
  t.peerFailover = a.failoverCapability ?? null
  t.peerAssignedId = a.assignedTunnelId ?? 0
  t.channel.peerTunnelId = t.peerAssignedId
  setPeerWindowOf(t, a.receiveWindowSize ?? DEFAULT_WINDOW)
}

/** Responder: an acceptable SCCRQ gets an SCCRP (answering the peer's challenge with ID 2). */
export const onSccrq = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  learnPeer(t, m)
  if (m.avps.tunnelRecovery !== undefined) return onRecoverySccrq(ctx, t, m)
  if (tieLost(ctx, t, m)) return
  if (m.avps.protocolVersion?.ver !== 1) return badVersion(ctx, t)
  if (ctx.engine.refuseNew) return stopTunnel(ctx, t, 2, ErrorCode.NoResources, REFUSED.tunnel)
  t.secret = ctx.engine.config.secretFor(t.peerHostName)
  if (m.avps.challenge !== undefined && t.secret === null) {
    return stopTunnel(ctx, t, StopCcnResult.NotAuthorized, null, 'challenged, but no secret for this peer')
  }
  // `challenge: true` fails closed: a peer we have no secret for is refused, never let in
  // unauthenticated (RFC 2661 §5.1.1: StopCCN result 4, not authorized).
  if (ctx.engine.config.challenge && t.secret === null) return refuseUnauthenticated(ctx, t)
  t.ourChallenge = newChallenge(ctx, t)
  const response =
    m.avps.challenge && t.secret
      ? challengeResponse(MessageType.SCCRP, t.secret.secret, m.avps.challenge)
      : undefined
  sendControl(ctx, t, MessageType.SCCRP, {
    ...startAvps(ctx, t),
    ...(t.ourChallenge ? { challenge: t.ourChallenge } : {}),
    ...(response ? { challengeResponse: response } : {}),
  })
  t.state = 'wait-ctl-conn'
}

/** `challenge: true` and no secret for this peer: refused (StopCCN 4), never unauthenticated. */
const refuseUnauthenticated = (ctx: Ctx, t: Tunnel): void =>
  stopTunnel(ctx, t, StopCcnResult.NotAuthorized, null, 'challenge required, but no secret for this peer')

/** Refuses another protocol version, naming the highest we speak (RFC 2661 §4.4.2: 1.0). */
const badVersion = (ctx: Ctx, t: Tunnel): void =>
  stopTunnel(ctx, t, StopCcnResult.BadProtocolVersion, 0x0100, 'only protocol version 1.0 is supported')

/** Checks the peer's answer to our challenge; true when none was asked or it matches (L2-30, L2-31). */
const responseOk = (t: Tunnel, m: ControlMessage, id: number): boolean => {
  if (t.ourChallenge === null) return true
  const got = m.avps.challengeResponse
  return (
    got !== undefined &&
    t.secret !== null &&
    equal(got, challengeResponse(id, t.secret.secret, t.ourChallenge))
  )
}

/** Initiator: SCCRP in wait-ctl-reply -> SCCCN, established. */
export const onSccrp = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  learnPeer(t, m)
  if (m.avps.protocolVersion?.ver !== 1) return badVersion(ctx, t)
  if (m.avps.challenge !== undefined && t.secret === null) {
    return stopTunnel(ctx, t, StopCcnResult.NotAuthorized, null, 'challenged, but no secret for this peer')
  }
  if (ctx.engine.config.challenge && t.secret === null) return refuseUnauthenticated(ctx, t)
  if (!responseOk(t, m, MessageType.SCCRP)) {
    return stopTunnel(ctx, t, StopCcnResult.NotAuthorized, null, 'challenge response does not match')
  }
  const response =
    m.avps.challenge && t.secret
      ? challengeResponse(MessageType.SCCCN, t.secret.secret, m.avps.challenge)
      : undefined
  sendControl(ctx, t, MessageType.SCCCN, response ? { challengeResponse: response } : {})
  if (t.recoveryOf !== null) {
    t.state = 'established'
    return recoveredAsInitiator(ctx, t, m)
  }
  established(ctx, t)
}

/** Responder: SCCCN in wait-ctl-conn -> established (if the challenge response matches). */
export const onScccn = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  if (!responseOk(t, m, MessageType.SCCCN)) {
    return stopTunnel(ctx, t, StopCcnResult.NotAuthorized, null, 'challenge response does not match')
  }
  if (t.recoveryOf !== null) {
    t.state = 'established'
    return recoveredAsResponder(ctx, t)
  }
  established(ctx, t)
}

const established = (ctx: Ctx, t: Tunnel): void => {
  t.state = 'established'
  t.authenticated = t.ourChallenge !== null
  t.establishedReported = true
  const c = ctx.engine.config
  emit(
    ctx,
    tunnelEstablished({
      localTunnelId: t.localId,
      remoteTunnelId: t.peerAssignedId,
      local: ctx.engine.local,
      peer: t.peer,
      role: c.role,
      originator: t.originator,
      localHostName: c.hostName,
      peerHostName: t.peerHostName,
      peerVendorName: t.peerVendorName,
      peerFirmwareRevision: t.peerFirmwareRevision,
      peerFraming: t.peerFraming,
      peerBearer: t.peerBearer,
      localReceiveWindow: c.channel.receiveWindow,
      peerReceiveWindow: t.peerWindow,
      localFailover: c.failover,
      peerFailover: t.peerFailover,
      authenticated: t.authenticated,
      secretRef: t.secret?.ref ?? null,
    }),
  )
  ctx.fx.push({ _tag: 'TunnelUp', tunnelId: t.localId })
}

/**
 * Ends the tunnel from our side: StopCCN with our first Assigned Tunnel ID (L2-24) and a Result
 * Code, reliable delivery kept running until it is acknowledged or gives up (L2-49).
 */
export const stopTunnel = (
  ctx: Ctx,
  t: Tunnel,
  resultCode: number,
  errorCode: number | null,
  message: string | null,
  closedBy: 'local' | 'operator' = 'local',
): void => {
  if (t.state === 'closing') return
  sendControl(ctx, t, MessageType.StopCCN, {
    assignedTunnelId: t.localId,
    resultCode: { result: resultCode, error: errorCode, message },
  })
  closed(ctx, t, resultCode, errorCode, message, closedBy)
}

/** StopCCN received: ack it and keep re-acking retransmissions for the linger time (L2-48, L2-51). */
export const onStopCcn = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const r = m.avps.resultCode
  closed(ctx, t, r?.result ?? 0, r?.error ?? null, r?.message ?? null, 'peer')
}

/** The peer stopped answering: retransmissions exhausted (L2-42). */
export const onDead = (ctx: Ctx, t: Tunnel): void => {
  closed(
    ctx,
    t,
    StopCcnResult.GeneralError,
    null,
    'peer stopped answering (retransmissions exhausted)',
    'timeout',
  )
  t.forgetAt = ctx.now
}

const closed = (
  ctx: Ctx,
  t: Tunnel,
  resultCode: number,
  errorCode: number | null,
  message: string | null,
  closedBy: 'local' | 'peer' | 'operator' | 'timeout',
): void => {
  const wasUp = t.establishedReported
  t.state = 'closing'
  t.forgetAt = ctx.now + ctx.engine.config.lingerMs
  if (t.recoveryOf !== null) return recoveryTunnelClosed(ctx, t, message ?? `result code ${resultCode}`)
  t.sessions.clear() // StopCCN clears every session implicitly (RFC 2661 §6.4)
  if (wasUp) {
    emit(ctx, tunnelClosed(t.localId, { resultCode, errorCode, message, closedBy }))
  } else if (closedBy !== 'peer' || t.originator === 'peer') {
    emit(
      ctx,
      setupRejected({
        peer: t.peer,
        stage: 'tunnel',
        reason: message ?? `result ${resultCode}`,
        resultCode,
        errorCode,
        localTunnelId: t.localId,
      }),
    )
  }
  ctx.fx.push({ _tag: 'TunnelDown', tunnelId: t.localId, reason: message ?? `result code ${resultCode}` })
}

/** An unexpected control message in this state (RFC 2661 §7.1): clear the control connection. */
export const fsmError = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  stopTunnel(ctx, t, StopCcnResult.FsmError, null, `unexpected message type ${m.type} in state ${t.state}`)
}

/**
 * Tie breaker (RFC 2661 §4.4.3, l2tpv2.md §9), among normal tunnels only: an SCCRQ from a peer
 * to which our own SCCRQ is outstanding; a tie lost here never touches a recovery tunnel (RFC 4951
 * §5.6, FO-31). Lower value wins; only one present: it wins; equal: both
 * drop; neither: two tunnels. The loser drops its attempt silently; our waiting calls move to the
 * surviving tunnel. Returns true when the received SCCRQ must not be answered.
 */
const tieLost = (ctx: Ctx, t: Tunnel, m: ControlMessage): boolean => {
  const theirs = m.avps.tieBreaker ?? null
  // Neither side sends one: two tunnels, no search (this runs for every SCCRQ).
  if (theirs === null && ctx.engine.config.tieBreaker !== true) return false
  const rival = liveUnder(ctx.engine, ctx.engine.opening, t.peer.host, awaitingReply).find((x) => x !== t)
  const ours = rival?.ourTieBreaker ?? null
  if (rival === undefined || (ours === null && theirs === null)) return false
  const order = tieOrder(ours, theirs)
  if (order < 0) {
    discardTunnel(ctx, t) // we win: their SCCRQ is silently discarded
    return true
  }
  discardTunnel(ctx, rival) // we lose (or tie): our attempt is silently dropped
  if (order === 0) {
    discardTunnel(ctx, t)
    return true
  }
  for (const [id, s] of rival.sessions) t.sessions.set(id, s) // our waiting calls go on the winner's tunnel
  return false
}
