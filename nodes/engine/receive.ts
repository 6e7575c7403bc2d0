// Receiving a datagram (RFC 2661 §3, §5.8): decode, find the tunnel (a new SCCRQ by the peer's
// address and Assigned Tunnel ID, a retransmitted one by its print), the 4-tuple check, reliable
// delivery, then per in-order message the AVP judgement and the state x message dispatch to the
// control and call FSMs; data messages to their session; a buried tunnel's peer gets a StopCCN.
// Sans-IO.
import type { Address } from '../../contracts/index.js'
import { receive } from '../control/channel.js'
import {
  type ControlMessage,
  checkAvps,
  type DataMessage,
  decodePacket,
  describeWireError,
  ErrorCode,
  encodeControl,
  MessageType,
  messageTypeName,
  StopCcnResult,
} from '../wire/index.js'
import { noteHalfOpen, refuseSccrq } from './admission.js'
import { findSession, onSessionMessage, refuse } from './calls.js'
import { receiveData } from './data.js'
import { discardTunnel, newTunnel } from './make.js'
import { peerSpokeAgain } from './recovery.js'
import { closeSession, sendRequest } from './session.js'
import { onFsq, onFsr } from './session-sync.js'
import { arm, type Ctx, peerKey, transmit, tunnelIdLeft } from './step-context.js'
import { fsmError, onScccn, onSccrp, onSccrq, onStopCcn, stopTunnel } from './tunnel.js'
import type { Tunnel } from './types.js'

const drop = (ctx: Ctx, reason: string): void => {
  ctx.engine.stats.discarded++
  ctx.fx.push({ _tag: 'Dropped', reason })
}

/** A data message: on its tunnel and session, from the tunnel's peer (RFC 2661 §5.4). */
const onData = (ctx: Ctx, from: Address, m: DataMessage): void => {
  const e = ctx.engine
  e.stats.dataMessages++
  const t = e.tunnels.get(m.tunnelId)
  const why =
    t === undefined || t.recovering || t.state !== 'established'
      ? `data for no established tunnel ${m.tunnelId}`
      : from.host !== t.peer.host || from.port !== t.peer.port
        ? `data for tunnel ${m.tunnelId} from a wrong source`
        : receiveData(ctx, t, m)
  if (why === null) e.stats.dataDelivered++
  else {
    e.stats.dataDropped++
    drop(ctx, why)
  }
}

/** FNV-1a over an SCCRQ with its Nr field masked: a retransmission has the same print. */
const sccrqPrint = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) {
    const b = i === 10 || i === 11 ? 0 : (bytes[i] as number)
    h = Math.imul(h ^ b, 0x01000193)
  }
  return h >>> 0
}

export const onDatagram = (ctx: Ctx, from: Address, bytes: Uint8Array): void => {
  const e = ctx.engine
  e.stats.datagrams++
  // Hidden AVPs are un-hidden with the tunnel's secret (a new SCCRQ: the default secret).
  const r = decodePacket(
    bytes,
    (tid) =>
      (tid === 0 ? undefined : e.tunnels.get(tid))?.secret?.secret ??
      e.config.secretFor(null)?.secret ??
      null,
  )
  if (r._tag === 'Left') {
    e.stats.malformed++
    return drop(ctx, describeWireError(r.left))
  }
  if (r.right._tag === 'Data') return onData(ctx, from, r.right.msg)
  const m = r.right.msg
  e.stats.hiddenReceived += m.hidden.length
  let t = m.tunnelId === 0 ? undefined : e.tunnels.get(m.tunnelId)
  if (m.tunnelId === 0) {
    if (m.type !== MessageType.SCCRQ || m.avps.assignedTunnelId === undefined)
      return drop(ctx, 'Tunnel ID 0 on a message that is not an SCCRQ')
    const existing = e.byPeer.get(peerKey(from, m.avps.assignedTunnelId))
    t = existing === undefined ? undefined : e.tunnels.get(existing)
    // A retransmitted SCCRQ (the same message) finds its tunnel. A different SCCRQ that reuses
    // the id, or one for a tunnel we are closing, is a new tunnel: the peer restarted, or a new
    // RFC 4951 recovery endpoint picked the id of a dead one's recovery tunnel; a half-open
    // attempt of the old one is abandoned silently.
    const print = sccrqPrint(bytes)
    if (t === undefined || t.state === 'closing' || t.sccrqPrint !== print) {
      if (t !== undefined && t.state === 'wait-ctl-conn') discardTunnel(ctx, t)
      // Every tunnel id taken: refused (dropped and counted), never tunnel id 0.
      if (!tunnelIdLeft(e)) return drop(ctx, 'SCCRQ refused: every tunnel id (1..65535) is in use')
      const overload = refuseSccrq(e, ctx.now, from.host)
      if (overload !== null) return refuseStateless(ctx, from, m, overload)
      t = newTunnel(ctx, from, 'peer')
      noteHalfOpen(e, t)
      t.sccrqPrint = print
      t.channel.peerTunnelId = m.avps.assignedTunnelId
      e.byPeer.set(peerKey(from, m.avps.assignedTunnelId), t.localId)
    }
  }
  if (t === undefined) return buried(ctx, from, m) ? undefined : drop(ctx, `no tunnel ${m.tunnelId}`)
  // RFC 4951 §5.8: control packets on a tunnel awaiting its reset are discarded, not acked (FO-24).
  if (t.recovering) return drop(ctx, `tunnel ${t.localId} awaits its control channel reset`)
  if (from.host !== t.peer.host || from.port !== t.peer.port) {
    // The 4-tuple is fixed for the life of the tunnel (RFC 2661 §8.1, L2-53); the initiator's
    // first reply may come from another port, which we then adopt.
    if (!(t.state === 'wait-ctl-reply' && from.host === t.peer.host))
      return drop(ctx, `tunnel ${t.localId}: wrong source ${from.host}:${from.port}`)
    ;(t as { peer: Address }).peer = from
  }
  const got = receive(t.channel, m, ctx.now)
  transmit(ctx, t.peer, got.out)
  peerSpokeAgain(t, ctx.now)
  for (const msg of got.deliver) {
    if (!t.channel.dead) deliver(ctx, t, msg)
  }
  arm(ctx, t)
}

/**
 * An SCCRQ refused for overload (tunnel cap, admission rate): one StopCCN 2/4 (RFC 2661 §4.4.2),
 * sent once and not kept: no tunnel, no retransmission, nothing for a flood (possibly from
 * spoofed sources) to hold, and the answer is no bigger than the request. A real peer that
 * misses it retransmits its SCCRQ and is answered again.
 */
const refuseStateless = (ctx: Ctx, from: Address, m: ControlMessage, why: string): void => {
  ctx.engine.stats.discarded++
  ctx.fx.push({ _tag: 'Dropped', reason: why })
  ctx.fx.push({
    _tag: 'Send',
    to: from,
    bytes: encodeControl({
      tunnelId: m.avps.assignedTunnelId ?? 0,
      sessionId: 0,
      ns: 0,
      nr: (m.ns + 1) & 0xffff,
      type: MessageType.StopCCN,
      avps: {
        assignedTunnelId: 0,
        resultCode: { result: StopCcnResult.GeneralError, error: ErrorCode.NoResources, message: why },
      },
    }),
  })
}

/** One in-order control message on a tunnel: judge its AVPs, then the FSMs. */
const deliver = (ctx: Ctx, t: Tunnel, m: ControlMessage): void => {
  if (t.state === 'closing') return // only acks while lingering (L2-48)
  const type = m.type as number
  if (messageTypeName(type) === null) {
    // Unknown message type: M=1 clears the tunnel, M=0 is ignored (L2-15, L2-16).
    if (m.typeMandatory)
      stopTunnel(ctx, t, StopCcnResult.GeneralError, 8, `unknown mandatory message type ${type}`)
    return
  }
  const violation = checkAvps(m)
  if (violation !== null) {
    ctx.engine.stats.violations++
    if (violation.scope === 'tunnel')
      return stopTunnel(ctx, t, violation.resultCode, violation.errorCode, violation.message)
    if (t.state !== 'established') return fsmError(ctx, t, m)
    // A call request we cannot read is refused; a message of a known call ends that call only (L2-13).
    if (type === MessageType.ICRQ || type === MessageType.OCRQ) {
      return refuse(ctx, t, m, violation.resultCode, violation.errorCode, violation.message)
    }
    const s = findSession(t, m)
    if (s !== undefined)
      return closeSession(ctx, t, s, violation.resultCode, violation.errorCode, violation.message)
    return
  }
  switch (type) {
    case MessageType.SCCRQ:
      return t.state === 'wait-ctl-conn' && t.peerAssignedId === 0 ? onSccrq(ctx, t, m) : fsmError(ctx, t, m)
    case MessageType.SCCRP:
      if (t.state !== 'wait-ctl-reply') return fsmError(ctx, t, m)
      onSccrp(ctx, t, m)
      return sessionsWaiting(ctx, t)
    case MessageType.SCCCN:
      if (t.state !== 'wait-ctl-conn') return fsmError(ctx, t, m)
      onScccn(ctx, t, m)
      return sessionsWaiting(ctx, t)
    case MessageType.StopCCN:
      return onStopCcn(ctx, t, m)
    case MessageType.HELLO:
      return
    case MessageType.FSQ:
      return t.state === 'established' && t.recoveryOf === null ? onFsq(ctx, t, m) : undefined
    case MessageType.FSR:
      return t.state === 'established' && t.recoveryOf === null ? onFsr(ctx, t, m) : undefined
    default:
      if (t.state !== 'established') return fsmError(ctx, t, m)
      return onSessionMessage(ctx, t, m)
  }
}

const sessionsWaiting = (ctx: Ctx, t: Tunnel): void => {
  if (t.state !== 'established') return
  for (const s of t.sessions.values()) if (s.state === 'wait-tunnel') sendRequest(ctx, t, s)
}

/**
 * A peer still speaking on a tunnel of the previous owner that could not be recovered (no RFC
 * 4951 on its side): answer with a StopCCN in its own sequence, so it closes the tunnel at once
 * instead of timing out (the takeover closed it in the log already).
 */
const buried = (ctx: Ctx, from: Address, m: ControlMessage): boolean => {
  const tomb = ctx.engine.tombstones.get(m.tunnelId)
  if (tomb === undefined || tomb.peer.host !== from.host || m.type === null) return false
  // Its own StopCCN gets a ZLB (so it stops retransmitting); anything else gets our StopCCN.
  const stop = m.type !== MessageType.StopCCN
  const message = 'endpoint taken over; the tunnel cannot be recovered'
  ctx.fx.push({
    _tag: 'Send',
    to: from,
    bytes: encodeControl({
      tunnelId: tomb.remoteTunnelId,
      sessionId: 0,
      ns: m.nr,
      nr: (m.ns + 1) & 0xffff,
      type: stop ? MessageType.StopCCN : null,
      avps: stop
        ? {
            assignedTunnelId: m.tunnelId,
            resultCode: { result: StopCcnResult.GeneralClear, error: null, message },
          }
        : {},
    }),
  })
  return true
}
