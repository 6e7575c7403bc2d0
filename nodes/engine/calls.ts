// Call messages on an established tunnel (RFC 2661 §7.4 incoming, §7.5 outgoing calls): a new
// call's admission, the call state tables by message, and the CDN of a message out of sequence.
// The session records and their lifecycle are in session.ts. Sans-IO.
import { setupRejected } from '../../contracts/index.js'
import { CdnResult, type ControlMessage, ErrorCode, MessageType } from '../wire/index.js'
import { refuseIcrq, startSetupClock } from './admission.js'
import { closeSession, established, framingFor, gone, newSession, newSessionId } from './session.js'
import { type Ctx, emit, sendControl } from './step-context.js'
import { REFUSED, type Session, type Tunnel } from './types.js'

/** Refuses a call request we cannot take: CDN to the peer's session, nothing kept. */
export const refuse = (
  ctx: Ctx,
  t: Tunnel,
  m: ControlMessage,
  result: number,
  error: number | null,
  message: string,
): void => {
  const peerId = m.avps.assignedSessionId ?? 0
  sendControl(
    ctx,
    t,
    MessageType.CDN,
    { resultCode: { result, error, message }, assignedSessionId: newSessionId(ctx, t) },
    peerId,
  )
  emit(
    ctx,
    setupRejected({
      peer: t.peer,
      stage: 'session',
      reason: message,
      resultCode: result,
      errorCode: error,
      localTunnelId: t.localId,
    }),
  )
}

/**
 * RFC 4951 §5.9: until session synchronisation is complete, a call request whose Assigned
 * Session ID is the remote id of one of our established sessions means the peer reused the id of
 * a session it believes gone (INTERPRETATION of "an ICRQ for a session in an established state").
 */
const syncCollision = (t: Tunnel, m: ControlMessage): Session | undefined => {
  if (t.unsynced === undefined || t.unsynced.size === 0) return undefined
  const peerId = m.avps.assignedSessionId
  for (const s of t.sessions.values()) if (s.state === 'established' && s.peerId === peerId) return s
  return undefined
}

/** The answer to that collision: a CDN naming our own session id, and the session is cleared (FO-47). */
const collide = (ctx: Ctx, t: Tunnel, s: Session): void =>
  closeSession(
    ctx,
    t,
    s,
    CdnResult.ErrorCode,
    ErrorCode.InvalidSessionId,
    'session id reused before session synchronisation',
  )

export const findSession = (t: Tunnel, m: ControlMessage): Session | undefined => {
  const byHeader = m.sessionId === 0 ? undefined : t.sessions.get(m.sessionId)
  if (byHeader !== undefined) return byHeader
  const peerId = m.avps.assignedSessionId
  if (peerId === undefined) return undefined
  for (const s of t.sessions.values()) if (s.peerId === peerId) return s
  return undefined
}

/** A session-scoped message on an established tunnel. */
export const onSessionMessage = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  if (m.type === MessageType.ICRQ || m.type === MessageType.OCRQ) return onCallRequest(ctx, t, m)
  const s = findSession(t, m)
  // Idle + ICRP/ICCN/OCRP/OCCN/CDN/WEN/SLI: clean up, nothing to answer (RFC 2661 §7.4, §7.5).
  if (s === undefined || m.type === null) return
  const step = CALL_FSM[m.type]
  if (step !== undefined) return inState(ctx, t, s, m, step.accepts(ctx.engine.config.role, s), step.apply)
  CALL_INFO[m.type]?.(ctx, t, s, m)
}

/**
 * A new call (ICRQ to an LNS, OCRQ to a LAC: RFC 2661 §7.4, §7.5): the role, the session-id
 * collision of RFC 4951 §5.9, then what refuses new work (drain, the tunnel's session cap, the
 * ICRQ admission rate: CDN 2/4, §4.4.2).
 */
const onCallRequest = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const role = ctx.engine.config.role
  const icrq = m.type === MessageType.ICRQ
  if (role !== (icrq ? 'LNS' : 'LAC'))
    return refuse(
      ctx,
      t,
      m,
      CdnResult.ErrorCode,
      ErrorCode.VendorSpecific,
      `a ${role} does not take ${icrq ? 'ICRQ' : 'OCRQ'}`,
    )
  const clash = syncCollision(t, m)
  if (clash !== undefined) return collide(ctx, t, clash)
  if (ctx.engine.refuseNew)
    return refuse(ctx, t, m, CdnResult.NoFacilitiesTemporary, ErrorCode.NoResources, REFUSED.session)
  if (t.sessions.size >= ctx.engine.config.maxSessionsPerTunnel)
    return refuse(ctx, t, m, CdnResult.NoFacilitiesTemporary, ErrorCode.NoResources, REFUSED.sessionLimit)
  const overload = icrq ? refuseIcrq(ctx.engine, ctx.now) : null
  if (overload !== null) return refuse(ctx, t, m, CdnResult.ErrorCode, ErrorCode.NoResources, overload)
  return icrq ? onIcrq(ctx, t, m) : onOcrq(ctx, t, m)
}

type CallHandler = (ctx: Ctx, t: Tunnel, s: Session, m: ControlMessage) => void

/**
 * The call state tables of RFC 2661 §7.4 (incoming) and §7.5 (outgoing), by message: the (role,
 * direction, state) in which a session takes it. Any other combination is out of sequence and
 * clears the session with a CDN (inState, L2-62).
 */
const CALL_FSM: Partial<
  Record<number, { accepts: (role: 'LAC' | 'LNS', s: Session) => boolean; apply: CallHandler }>
> = {
  // §7.4.1: LAC, incoming call, wait-reply -> ICRP -> send ICCN.
  [MessageType.ICRP]: {
    accepts: (role, s) => role === 'LAC' && s.direction === 'incoming' && s.state === 'wait-reply',
    apply: (ctx, t, s, m) => onIcrp(ctx, t, s, m),
  },
  // §7.4.2: LNS, incoming call, wait-connect -> ICCN -> established.
  [MessageType.ICCN]: {
    accepts: (role, s) => role === 'LNS' && s.direction === 'incoming' && s.state === 'wait-connect',
    apply: (ctx, t, s, m) => onIccn(ctx, t, s, m),
  },
  // §7.5.2: LNS, outgoing call, wait-reply -> OCRP -> wait-connect.
  [MessageType.OCRP]: {
    accepts: (role, s) => role === 'LNS' && s.direction === 'outgoing' && s.state === 'wait-reply',
    apply: (_ctx, _t, s, m) => {
      s.peerId = m.avps.assignedSessionId ?? 0
      s.physicalChannelId = m.avps.physicalChannelId ?? null
      s.state = 'wait-connect'
    },
  },
  // §7.5.2: LNS, outgoing call, wait-connect -> OCCN -> established.
  [MessageType.OCCN]: {
    accepts: (role, s) => role === 'LNS' && s.direction === 'outgoing' && s.state === 'wait-connect',
    apply: (ctx, t, s, m) => onConnected(ctx, t, s, m),
  },
}

/** Messages a session takes in any state: CDN clears it (§5.7), WEN and SLI update it (§6.14, §6.15). */
const CALL_INFO: Partial<Record<number, CallHandler>> = {
  [MessageType.CDN]: (ctx, t, s, m) => {
    const r = m.avps.resultCode
    gone(
      ctx,
      t,
      s,
      r?.result ?? 0,
      r?.error ?? null,
      r?.message ?? null,
      'peer',
      m.avps.q931CauseCode ?? null,
    )
  },
  [MessageType.WEN]: (ctx, _t, s) => {
    ctx.engine.stats.wen++
    s.wanErrors++
  },
  [MessageType.SLI]: (ctx, _t, s, m) => {
    ctx.engine.stats.sli++
    s.accm = m.avps.accm ? { send: m.avps.accm.send, receive: m.avps.accm.receive } : s.accm
  },
}

/** Out-of-sequence call messages get a CDN and the session is cleared (L2-62). */
const inState = (
  ctx: Ctx,
  t: Tunnel,
  s: Session,
  m: ControlMessage,
  ok: boolean,
  then: CallHandler,
): void => {
  if (ok) then(ctx, t, s, m)
  else
    closeSession(
      ctx,
      t,
      s,
      CdnResult.ErrorCode,
      ErrorCode.VendorSpecific,
      `message type ${m.type} not expected in state ${s.state}`,
    )
}

const onIcrq = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const id = newSessionId(ctx, t)
  const s = newSession(id, 'incoming', m.avps.callSerialNumber ?? 0)
  s.peerId = m.avps.assignedSessionId ?? 0
  s.bearer = m.avps.bearerType?.digital ? 'digital' : m.avps.bearerType?.analog ? 'analog' : null
  s.callingNumber = m.avps.callingNumber ?? null
  s.calledNumber = m.avps.calledNumber ?? null
  s.physicalChannelId = m.avps.physicalChannelId ?? null
  s.state = 'wait-connect'
  t.sessions.set(id, s)
  startSetupClock(ctx, t, s)
  sendControl(ctx, t, MessageType.ICRP, { assignedSessionId: id }, s.peerId)
}

/** What ICCN and OCCN say of the call (RFC 2661 §6.9, §6.12). */
const connectAvps = (s: Session) => ({
  txConnectSpeed: s.txConnectSpeed,
  framingType: { sync: s.framing === 'sync', async: s.framing === 'async' },
  ...(s.sequencing ? { sequencingRequired: true as const } : {}),
})

const onIcrp = (ctx: Ctx, t: Tunnel, s: Session, m: ControlMessage): void => {
  s.peerId = m.avps.assignedSessionId ?? 0
  s.framing = framingFor(t)
  sendControl(ctx, t, MessageType.ICCN, connectAvps(s), s.peerId)
  established(ctx, t, s)
}

const onIccn = (ctx: Ctx, t: Tunnel, s: Session, m: ControlMessage): void => onConnected(ctx, t, s, m)

const onConnected = (ctx: Ctx, t: Tunnel, s: Session, m: ControlMessage): void => {
  s.txConnectSpeed = m.avps.txConnectSpeed ?? 0
  s.rxConnectSpeed = m.avps.rxConnectSpeed ?? null
  s.framing = m.avps.framingType?.async && !m.avps.framingType.sync ? 'async' : 'sync'
  s.sequencing = m.avps.sequencingRequired === true
  established(ctx, t, s)
}

/** LAC outgoing call: OCRP at once, then OCCN as the (simulated) call is answered (RFC 2661 §7.5.1). */
const onOcrq = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const id = newSessionId(ctx, t)
  const s = newSession(id, 'outgoing', m.avps.callSerialNumber ?? 0)
  s.peerId = m.avps.assignedSessionId ?? 0
  s.bearer = m.avps.bearerType?.digital ? 'digital' : m.avps.bearerType?.analog ? 'analog' : null
  s.framing = m.avps.framingType?.sync ? 'sync' : 'async'
  s.calledNumber = m.avps.calledNumber ?? null
  s.txConnectSpeed = m.avps.maximumBps ?? 0
  t.sessions.set(id, s)
  startSetupClock(ctx, t, s)
  sendControl(ctx, t, MessageType.OCRP, { assignedSessionId: id }, s.peerId)
  sendControl(ctx, t, MessageType.OCCN, connectAvps(s), s.peerId)
  established(ctx, t, s)
}
