// The data channel of established sessions (RFC 2661 §5.4, RFC 4951 §6): data messages with
// optional sequence numbers. Payloads (PPP frames) are handed to the shell; there is no PPP here.
// Sequenced sessions check Ns in order; after a failover the recovery endpoint restarts its data
// Ns at 0 (FO-49), the remote endpoint keeps its own (FO-50), and a receiver that sees n
// consecutive in-sequence "old" packets adopts their sequence (FO-51). Sans-IO.
import { type DataMessage, encodeData } from '../wire/index.js'
import type { Ctx } from './step-context.js'
import type { Session, Tunnel } from './types.js'

/** Consecutive in-sequence packets behind the expectation before the receiver adopts them. */
export const DEFAULT_DATA_RESYNC = 5

const HALF = 0x8000

/** Sends one PPP frame on an established session; Ns on it when the session is sequenced. */
export const sendData = (ctx: Ctx, t: Tunnel, s: Session, payload: Uint8Array): boolean => {
  if (s.state !== 'established' || t.recovering || t.state !== 'established') return false
  let ns: number | null = null
  // Sequencing Required (either side) or, at a LAC, the LNS's last choice (RFC 2661 §5.4, L2-57,
  // L2-58); numbering goes on where it stopped when it is enabled again (L2-59).
  if (s.sequencing || s.mirrorSequencing) {
    ns = s.dataNs
    s.dataNs = (s.dataNs + 1) & 0xffff
  }
  const bytes = encodeData({ tunnelId: t.peerAssignedId, sessionId: s.peerId, ns, priority: false }, payload)
  ctx.fx.push({ _tag: 'Send', to: t.peer, bytes })
  return true
}

/** Why a data message is not delivered, or null when it is. */
export const receiveData = (ctx: Ctx, t: Tunnel, m: DataMessage): string | null => {
  const s = t.sessions.get(m.sessionId)
  if (s === undefined || s.state !== 'established') return `data for no established session ${m.sessionId}`
  // A LAC follows the LNS: sequenced data from it turns sequencing on, unsequenced turns it off
  // (RFC 2661 §5.4, L2-58). The data header's Nr is reserved and never read (L2-60).
  if (ctx.engine.config.role === 'LAC') s.mirrorSequencing = m.ns !== null
  if (m.ns !== null && !inSequence(s, m.ns, ctx.engine.config.dataResyncPackets ?? DEFAULT_DATA_RESYNC))
    return `data Ns ${m.ns} out of sequence (expected ${s.dataNr})`
  ctx.fx.push({ _tag: 'Deliver', tunnelId: t.localId, sessionId: s.localId, payload: m.payload })
  return null
}

/**
 * Sequence check of one received Ns. In order or ahead (lost packets): taken. Behind ("old"):
 * dropped, unless it is the n-th consecutive in-sequence old packet, when the expectation jumps
 * to follow them (RFC 4951 §6, RFC 3931 Appendix C). No expectation yet (a session restored by
 * a recovery endpoint): the first packet sets it (INTERPRETATION).
 */
const inSequence = (s: Session, ns: number, resync: number): boolean => {
  if (s.dataNr === null || ((ns - s.dataNr) & 0xffff) < HALF) {
    s.dataNr = (ns + 1) & 0xffff
    s.oldRun = 0
    return true
  }
  s.oldRun = s.oldRun > 0 && ns === s.oldNext ? s.oldRun + 1 : 1
  s.oldNext = (ns + 1) & 0xffff
  if (s.oldRun < resync) return false
  s.dataNr = s.oldNext
  s.oldRun = 0
  return true
}
