// Sessions (RFC 2661 §7.4, §7.5; l2tpv2.md §10.2-10.5): the session record, its ids, opening a
// call, establishing and clearing it (CDN). The call messages and their state tables are in
// calls.ts. Sans-IO.
import { sessionClosed, sessionEstablished, setupRejected } from '../../contracts/index.js'
import { MessageType } from '../wire/index.js'
import { startSetupClock } from './admission.js'
import { type Ctx, emit, pickId, sendControl } from './step-context.js'
import type { OpenSessionParams, Session, Tunnel } from './types.js'

/** A session record in its first state; data Ns 0 and no expectation yet. */
export const newSession = (localId: number, direction: Session['direction'], serial: number): Session => ({
  localId,
  peerId: 0,
  state: 'wait-tunnel',
  direction,
  callSerial: serial,
  bearer: null,
  framing: 'sync',
  txConnectSpeed: 0,
  rxConnectSpeed: null,
  callingNumber: null,
  calledNumber: null,
  physicalChannelId: null,
  sequencing: false,
  mirrorSequencing: false,
  dataNs: 0,
  dataNr: null,
  oldRun: 0,
  oldNext: 0,
  wanErrors: 0,
  accm: null,
})

/** How many released session ids a tunnel remembers, so that new ids avoid them (FO-48). */
const RELEASED_MEMORY = 4096

/**
 * A new session id: random (L2-08), never live, and never one released lately, so ids are
 * reused least recently first (RFC 4951 §5.9, FO-48): a peer that still believes in a session
 * we cleared does not meet its id on a new call.
 */
export const newSessionId = (ctx: Ctx, t: Tunnel): number =>
  pickId(ctx.rng, (x) => t.sessions.has(x) || t.released?.set.has(x) === true)

/** Forgets a session of the tunnel, remembering its id as released (FO-48). */
export const dropSession = (t: Tunnel, id: number): boolean => {
  if (!t.sessions.delete(id)) return false
  t.unsynced?.delete(id)
  const r = t.released ?? { order: [], set: new Set<number>() }
  t.released = r
  if (!r.set.has(id)) {
    r.order.push(id)
    r.set.add(id)
    if (r.order.length > RELEASED_MEMORY) r.set.delete(r.order.shift() as number)
  }
  return true
}

/** Framing we use: a subset of what the peer advertised (L2-28). */
export const framingFor = (t: Tunnel): 'sync' | 'async' =>
  t.peerFraming.sync || !t.peerFraming.async ? 'sync' : 'async'

export const established = (ctx: Ctx, t: Tunnel, s: Session): void => {
  s.state = 'established'
  emit(
    ctx,
    sessionEstablished(t.localId, {
      localSessionId: s.localId,
      remoteSessionId: s.peerId,
      callSerial: s.callSerial,
      direction: s.direction,
      framing: s.framing,
      bearer: s.bearer,
      txConnectSpeed: s.txConnectSpeed,
      rxConnectSpeed: s.rxConnectSpeed,
      callingNumber: s.callingNumber,
      calledNumber: s.calledNumber,
      physicalChannelId: s.physicalChannelId,
      sequencing: s.sequencing,
    }),
  )
  ctx.fx.push({ _tag: 'SessionUp', tunnelId: t.localId, sessionId: s.localId })
}

/** Local request for a call: LAC incoming (ICRQ) or LNS outgoing (OCRQ). Returns the session id, or 0. */
export const openSession = (
  ctx: Ctx,
  t: Tunnel,
  direction: Session['direction'],
  p: OpenSessionParams = {},
): number => {
  const role = ctx.engine.config.role
  if ((direction === 'incoming') !== (role === 'LAC')) return 0
  // An LNS MUST have received Bearer Capabilities before it sends OCRQ (L2-26).
  if (direction === 'outgoing' && !t.peerBearer.digital && !t.peerBearer.analog) return 0
  const id = newSessionId(ctx, t)
  if (id === 0) return 0
  const s = newSession(id, direction, ctx.engine.nextCallSerial++ >>> 0)
  s.callingNumber = p.callingNumber ?? null
  s.calledNumber = p.calledNumber ?? null
  s.txConnectSpeed = p.txConnectSpeed ?? 100_000_000
  s.sequencing = p.sequencing === true
  t.sessions.set(id, s)
  startSetupClock(ctx, t, s)
  // Not on a tunnel awaiting its RFC 4951 reset: the call waits for Step I (FO-35).
  if (t.state === 'established' && !t.recovering) sendRequest(ctx, t, s)
  return id
}

/** Sends ICRQ / OCRQ for a session that was waiting for its tunnel (RFC 2661 §7.4.1, §7.5.2). */
export const sendRequest = (ctx: Ctx, t: Tunnel, s: Session): void => {
  s.state = 'wait-reply'
  if (s.direction === 'incoming') {
    sendControl(ctx, t, MessageType.ICRQ, {
      assignedSessionId: s.localId,
      callSerialNumber: s.callSerial,
      bearerType: { digital: t.peerBearer.digital, analog: false },
      ...(s.callingNumber === null ? {} : { callingNumber: s.callingNumber }),
      ...(s.calledNumber === null ? {} : { calledNumber: s.calledNumber }),
    })
  } else {
    s.bearer = t.peerBearer.digital ? 'digital' : 'analog'
    s.framing = framingFor(t)
    sendControl(ctx, t, MessageType.OCRQ, {
      assignedSessionId: s.localId,
      callSerialNumber: s.callSerial,
      minimumBps: 0,
      maximumBps: s.txConnectSpeed,
      bearerType: { digital: s.bearer === 'digital', analog: s.bearer === 'analog' },
      framingType: { sync: s.framing === 'sync', async: s.framing === 'async' },
      calledNumber: s.calledNumber ?? '',
    })
  }
}

/** Clears a session from our side: CDN with Result Code and our Assigned Session ID (L2-27). */
export const closeSession = (
  ctx: Ctx,
  t: Tunnel,
  s: Session,
  resultCode: number,
  errorCode: number | null,
  message: string | null,
  closedBy: 'local' | 'operator' = 'local',
): void => {
  // A call still waiting for its tunnel was never announced to the peer: nothing to clear there.
  if (s.state !== 'wait-tunnel')
    sendControl(
      ctx,
      t,
      MessageType.CDN,
      { resultCode: { result: resultCode, error: errorCode, message }, assignedSessionId: s.localId },
      s.peerId,
    )
  gone(ctx, t, s, resultCode, errorCode, message, closedBy)
}

export const gone = (
  ctx: Ctx,
  t: Tunnel,
  s: Session,
  resultCode: number,
  errorCode: number | null,
  message: string | null,
  closedBy: 'local' | 'peer' | 'operator',
  q931: { cause: number; msg: number; advisory: string | null } | null = null,
): void => {
  dropSession(t, s.localId)
  if (s.state === 'established') {
    emit(ctx, sessionClosed(t.localId, s.localId, { resultCode, errorCode, message, q931, closedBy }))
  } else {
    emit(
      ctx,
      setupRejected({
        peer: t.peer,
        stage: 'session',
        reason: message ?? `result ${resultCode}`,
        resultCode,
        errorCode,
        localTunnelId: t.localId,
      }),
    )
  }
  ctx.fx.push({
    _tag: 'SessionDown',
    tunnelId: t.localId,
    sessionId: s.localId,
    reason: message ?? `result ${resultCode}`,
  })
}
