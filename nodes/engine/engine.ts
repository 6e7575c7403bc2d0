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
import { awaitRecovery, recoveryPending, startRecovery } from './recovery.js'
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

export const step = (engine: Engine, input: Input, now: number, rng: Rng): Effect[] => {
  const ctx: Ctx = { engine, now, rng, fx: [] }
  switch (input._tag) {
    case 'Datagram':
      onDatagram(ctx, input.from, input.bytes)
      break
    case 'Timer':
      onTimer(ctx, input.tunnelId)
      break
    case 'OpenTunnel': {
      if (!tunnelIdLeft(engine)) {
        engine.stats.discarded++
        ctx.fx.push({ _tag: 'Dropped', reason: 'OpenTunnel refused: every tunnel id (1..65535) is in use' })
        break
      }
      const t = newTunnel(ctx, input.peer, 'local')
      startTunnel(ctx, t)
      break
    }
    case 'OpenSession': {
      const t = engine.tunnels.get(input.tunnelId)
      if (t !== undefined && t.state !== 'closing') openSession(ctx, t, input.direction, input.params)
      if (t !== undefined) arm(ctx, t)
      break
    }
    case 'CloseSession': {
      const t = engine.tunnels.get(input.tunnelId)
      const s = t?.sessions.get(input.sessionId)
      if (t !== undefined && s !== undefined) {
        closeSession(ctx, t, s, input.resultCode, null, input.reason, 'operator')
        arm(ctx, t)
      }
      break
    }
    case 'SendData': {
      const t = engine.tunnels.get(input.tunnelId)
      const s = t?.sessions.get(input.sessionId)
      if (t === undefined || s === undefined || !sendData(ctx, t, s, input.payload)) {
        engine.stats.dataDropped++
        ctx.fx.push({ _tag: 'Dropped', reason: `no established session ${input.sessionId} to send data on` })
      }
      break
    }
    case 'QuerySessions': {
      const t = engine.tunnels.get(input.tunnelId)
      if (t === undefined || !queryable(t)) break
      // Only toward a peer that advertised RFC 4951: a legacy one may clear the tunnel on the
      // mandatory FSS AVP before it looks at the Message Type (xl2tpd does; docs/decisions.md).
      if (!syncCapable(t)) {
        ctx.fx.push({
          _tag: 'Dropped',
          reason: `tunnel ${t.localId}: peer did not advertise failover; no FSQ`,
        })
        break
      }
      queryAll(ctx, t)
      arm(ctx, t)
      break
    }
    case 'SetRefuseNew':
      if (input.on) engine.refusing.add(input.reason)
      else engine.refusing.delete(input.reason)
      engine.refuseNew = engine.refusing.size > 0
      break
    case 'TakeOver':
      takeOver(ctx, input.table, input.epoch)
      break
    case 'RecoverQueued':
      recoverQueued(ctx, input.max)
      break
    case 'Recover':
      startRecovery(ctx, input.tunnel)
      break
    case 'Bury':
      for (const t of input.tunnels)
        engine.tombstones.set(t.localTunnelId, { peer: t.peer, remoteTunnelId: t.remoteTunnelId })
      break
    case 'QueueRecovery':
      for (const r of input.tunnels) engine.pending.set(r.localTunnelId, r)
      break
    case 'CloseTunnel': {
      const t = engine.tunnels.get(input.tunnelId)
      if (t !== undefined) {
        stopTunnel(ctx, t, input.resultCode, null, input.reason, input.closedBy ?? 'operator')
        arm(ctx, t)
      }
      break
    }
  }
  return ctx.fx
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
