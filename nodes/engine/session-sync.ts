// RFC 4951 §5.9 Step III, session state synchronisation: FSQ for our established sessions of a
// recovered tunnel (or on an operator's sync), FSR answers, stale sessions queried back, sessions
// the peer does not know cleared silently. Sans-IO.
import { sessionsReconciled } from '../../contracts/index.js'
import { type ControlMessage, MessageType } from '../wire/index.js'
import { dropSession } from './session.js'
import { type Ctx, emit, sendControl } from './step-context.js'
import type { Session, Tunnel } from './types.js'

/** Failover Session State AVPs per FSQ/FSR, so that one message stays well under a datagram. */
const FSS_PER_MESSAGE = 60

/** Queries every established session of a recovered tunnel (FSQ, one FSS per session; FO-36). */
export const queryAll = (ctx: Ctx, t: Tunnel): void => {
  query(
    ctx,
    t,
    [...t.sessions.values()].filter((s) => s.state === 'established'),
  )
}

/** FSQs for these sessions; sync is complete when every one is answered (§5.9). */
const query = (ctx: Ctx, t: Tunnel, sessions: readonly Session[]): void => {
  const unsynced = t.unsynced ?? new Set<number>()
  t.unsynced = unsynced
  const all = sessions.map((s) => {
    unsynced.add(s.localId)
    return { sessionId: s.localId, remoteSessionId: s.peerId }
  })
  for (let i = 0; i < all.length; i += FSS_PER_MESSAGE) {
    sendControl(ctx, t, MessageType.FSQ, { failoverSessionStates: all.slice(i, i + FSS_PER_MESSAGE) })
  }
}

/**
 * Answers an FSQ: (own id, their id) when paired, (0, their id) otherwise (FO-41, FO-42, FO-43).
 * Other AVPs in the FSQ are ignored (FO-39). A session of ours paired with another remote id is
 * not cleared but marked stale and queried by an FSQ of our own (§5.9, FO-44).
 */
export const onFsq = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const stale: Session[] = []
  const answers = (m.avps.failoverSessionStates ?? []).map((q) => {
    const local = t.sessions.get(q.remoteSessionId)
    if (local !== undefined && local.peerId === q.sessionId)
      return { sessionId: local.localId, remoteSessionId: q.sessionId }
    if (local !== undefined && !local.stale) {
      local.stale = true
      stale.push(local)
    }
    return { sessionId: 0, remoteSessionId: q.sessionId }
  })
  for (let i = 0; i < answers.length; i += FSS_PER_MESSAGE) {
    sendControl(ctx, t, MessageType.FSR, { failoverSessionStates: answers.slice(i, i + FSS_PER_MESSAGE) })
  }
  if (stale.length > 0) query(ctx, t, stale)
}

/** On FSR: Session ID 0 clears our session silently (no CDN, FO-45); others stay (FO-46). */
export const onFsr = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  const cleared: number[] = []
  for (const a of m.avps.failoverSessionStates ?? []) {
    const s = t.sessions.get(a.remoteSessionId)
    t.unsynced?.delete(a.remoteSessionId)
    if (s === undefined) continue
    if (a.sessionId === 0) {
      if (dropSession(t, a.remoteSessionId)) cleared.push(a.remoteSessionId)
    } else s.stale = false
  }
  emit(ctx, sessionsReconciled(t.localId, cleared, t.sessions.size))
}
