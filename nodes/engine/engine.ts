// The endpoint engine: one L2TP address serving many tunnels. step(engine, input, now, rng) ->
// effects, one case per input: datagrams (receive.ts), timers, operator and shell inputs
// (commands decided in decide.ts, takeovers in takeover.ts). Sans-IO.
import type { Address } from '../../contracts/index.js'
import { tick } from '../control/channel.js'
import { bucket, expiredSetups, setupTimeoutCdn } from './admission.js'
import { sendData } from './data.js'
import { queryable, syncCapable } from './decide.js'
import { discardTunnel, newTunnel } from './make.js'
import { onDatagram } from './receive.js'
import { awaitRecovery, startRecovery } from './recovery.js'
import { recoveryPending } from './recovery-remote.js'
import { closeSession, openSession } from './session.js'
import { queryAll } from './session-sync.js'
import { arm, type Ctx, transmit, tunnelIdLeft } from './step-context.js'
import { recoverQueued, takeOver } from './takeover.js'
import { onDead, startTunnel, stopTunnel } from './tunnel.js'
import type { Effect, Engine, EngineConfig, Input, Rng } from './types.js'

export const createEngine = (config: EngineConfig, local: Address): Engine => ({
  config,
  local,
  tunnels: new Map(),
  byPeer: new Map(),
  opening: new Map(),
  halfOpen: new Map(),
  halfOpenAll: { tunnels: new Set(), prunedAt: Number.NEGATIVE_INFINITY },
  nextCallSerial: 1,
  refusing: new Set(config.refuseNew ? ['drain'] : []),
  refuseNew: config.refuseNew,
  pending: new Map(),
  tombstones: new Map(),
  stats: {
    datagrams: 0,
    discarded: 0,
    malformed: 0,
    violations: 0,
    wen: 0,
    sli: 0,
    dataMessages: 0,
    dataDelivered: 0,
    dataDropped: 0,
    hiddenReceived: 0,
    refusedTunnelCap: 0,
    refusedHalfOpen: 0,
    refusedSccrqRate: 0,
    refusedIcrqRate: 0,
    sessionSetupTimeouts: 0,
  },
  admission: { sccrq: bucket(config.admission?.sccrq), icrq: bucket(config.admission?.icrq) },
})

/**
 * One input in, its effects out: the engine's only entry (sans-IO: no clock, no randomness, no
 * I/O but what `now`, `rng` and the returned effects carry).
 */
export const step = (engine: Engine, input: Input, now: number, rng: Rng): Effect[] => {
  const ctx: Ctx = { engine, now, rng, fx: [] }
  // ON_INPUT is keyed by tag, so the handler found is the one for this input's variant.
  ;(ON_INPUT[input._tag] as (ctx: Ctx, input: Input) => void)(ctx, input)
  return ctx.fx
}

type InputHandlers = { readonly [K in Input['_tag']]: (ctx: Ctx, input: Extract<Input, { _tag: K }>) => void }

/** What each input does; a tunnel an input touched is re-armed (its one timer, arm()). */
const ON_INPUT: InputHandlers = {
  Datagram: (ctx, i) => onDatagram(ctx, i.from, i.bytes),
  Timer: (ctx, i) => onTimer(ctx, i.tunnelId),
  OpenTunnel: (ctx, i) => {
    if (!tunnelIdLeft(ctx.engine)) {
      ctx.engine.stats.discarded++
      ctx.fx.push({ _tag: 'Dropped', reason: 'OpenTunnel refused: every tunnel id (1..65535) is in use' })
      return
    }
    startTunnel(ctx, newTunnel(ctx, i.peer, 'local'))
  },
  OpenSession: (ctx, i) => {
    const t = ctx.engine.tunnels.get(i.tunnelId)
    if (t === undefined) return
    if (t.state !== 'closing') openSession(ctx, t, i.direction, i.params)
    arm(ctx, t)
  },
  CloseSession: (ctx, i) => {
    const t = ctx.engine.tunnels.get(i.tunnelId)
    const s = t?.sessions.get(i.sessionId)
    if (t === undefined || s === undefined) return
    closeSession(ctx, t, s, i.resultCode, null, i.reason, 'operator')
    arm(ctx, t)
  },
  SendData: (ctx, i) => {
    const t = ctx.engine.tunnels.get(i.tunnelId)
    const s = t?.sessions.get(i.sessionId)
    if (t !== undefined && s !== undefined && sendData(ctx, t, s, i.payload)) return
    ctx.engine.stats.dataDropped++
    ctx.fx.push({ _tag: 'Dropped', reason: `no established session ${i.sessionId} to send data on` })
  },
  QuerySessions: (ctx, i) => {
    const t = ctx.engine.tunnels.get(i.tunnelId)
    if (t === undefined || !queryable(t)) return
    // Only toward a peer that advertised RFC 4951: a legacy one may clear the tunnel on the
    // mandatory FSS AVP before it looks at the Message Type (xl2tpd does; docs/decisions.md).
    if (!syncCapable(t)) {
      ctx.fx.push({ _tag: 'Dropped', reason: `tunnel ${t.localId}: peer did not advertise failover; no FSQ` })
      return
    }
    queryAll(ctx, t)
    arm(ctx, t)
  },
  SetRefuseNew: (ctx, i) => {
    const e = ctx.engine
    if (i.on) e.refusing.add(i.reason)
    else e.refusing.delete(i.reason)
    e.refuseNew = e.refusing.size > 0
  },
  TakeOver: (ctx, i) => takeOver(ctx, i.table, i.epoch),
  RecoverQueued: (ctx, i) => recoverQueued(ctx, i.max),
  Recover: (ctx, i) => startRecovery(ctx, i.tunnel),
  Bury: (ctx, i) => {
    for (const t of i.tunnels)
      ctx.engine.tombstones.set(t.localTunnelId, { peer: t.peer, remoteTunnelId: t.remoteTunnelId })
  },
  QueueRecovery: (ctx, i) => {
    for (const r of i.tunnels) ctx.engine.pending.set(r.localTunnelId, r)
  },
  CloseTunnel: (ctx, i) => {
    const t = ctx.engine.tunnels.get(i.tunnelId)
    if (t === undefined) return
    stopTunnel(ctx, t, i.resultCode, null, i.reason, i.closedBy ?? 'operator')
    arm(ctx, t)
  },
}

const onTimer = (ctx: Ctx, tunnelId: number): void => {
  const t = ctx.engine.tunnels.get(tunnelId)
  if (t === undefined) return
  const r = tick(t.channel, ctx.now)
  transmit(ctx, t.peer, r.out)
  if (r.died && t.state !== 'closing' && !awaitRecovery(ctx, t)) {
    onDead(ctx, t)
  }
  // A C-capable peer's Recovery Time ran out without a recovery (RFC 4951 §5.2).
  if (
    t.recoveryDeadline !== null &&
    ctx.now >= t.recoveryDeadline &&
    t.channel.dead &&
    !t.recovering &&
    !recoveryPending(ctx, t) &&
    t.state !== 'closing'
  ) {
    t.recoveryDeadline = null
    onDead(ctx, t)
  }
  // Sessions whose set-up ran out of time (issue 12): cleared with a CDN (RFC 2661 §4.4.2).
  const expired = expiredSetups(ctx, t)
  if (expired.length > 0) {
    const cdn = setupTimeoutCdn(ctx.engine.config.role)
    for (const s of expired) closeSession(ctx, t, s, cdn.result, cdn.error, cdn.message)
  }
  if (
    t.forgetAt !== null &&
    ctx.now >= t.forgetAt &&
    (t.channel.inFlight.length === 0 || t.channel.dead || r.died)
  ) {
    discardTunnel(ctx, t)
    return
  }
  arm(ctx, t)
}
