// Taking over an endpoint (DESIGN.md §5, RFC 4951 §5.1): the new owner activates under its
// epoch, closes in the log the tunnels of the rehydrated table whose peer cannot recover them
// (and answers their peer with a StopCCN when it speaks, the tombstones), and queues the
// recoverable ones; the shell paces their start with RecoverQueued. Sans-IO.
import { endpointActivated, tunnelClosed } from '../../contracts/index.js'
import type { EndpointTable } from '../../registry/index.js'
import { StopCcnResult } from '../wire/index.js'
import { recoveryPlan } from './recoverable.js'
import { startRecovery } from './recovery.js'
import { type Ctx, emit } from './step-context.js'

/**
 * A tunnel of the old owner that cannot be recovered is closed in the log with StopCCN result
 * 6, "requester is being shut down" (RFC 2661 §4.4.2): its owner is gone for good.
 */
export const TAKEOVER_CLOSE = {
  resultCode: StopCcnResult.ShuttingDown,
  errorCode: null,
  message: 'endpoint taken over; the peer cannot recover this tunnel',
  closedBy: 'recovery',
} as const

/** EndpointActivated, the closes, the tombstones and the recovery queue of a takeover. */
export const takeOver = (ctx: Ctx, table: EndpointTable, epoch: number): void => {
  const e = ctx.engine
  const c = e.config
  emit(ctx, endpointActivated({ address: e.local, role: c.role, hostName: c.hostName }))
  // RFC 4951: tunnels whose peer advertised failover (and we did) are recovered, paced; the
  // others are closed in the log, so the registry's table and ours agree. A tunnel this engine
  // holds already (it spoke before the takeover finished) is left alone.
  const plan = recoveryPlan(table)
  let closed = 0
  for (const tid of plan.close) {
    const t = table.tunnels.get(tid)
    if (t === undefined || e.tunnels.has(tid)) continue
    emit(ctx, tunnelClosed(tid, TAKEOVER_CLOSE))
    e.tombstones.set(tid, { peer: t.peer, remoteTunnelId: t.remoteTunnelId })
    closed++
  }
  // Old ids stay reserved until their recovery starts: no recovery tunnel may take one (FO-11);
  // a peer that failed over too may recover a queued one first (RFC 4951 §5.6).
  let queued = 0
  for (const r of plan.recover) {
    if (e.tunnels.has(r.localTunnelId)) continue
    e.pending.set(r.localTunnelId, r)
    queued++
  }
  ctx.fx.push({
    _tag: 'TakenOver',
    epoch,
    rehydrated: plan.recover.length + plan.close.length,
    recoverable: plan.recover.length,
    closed,
    queued,
  })
}

/** Starts the recovery of up to `max` queued old tunnels, oldest queued first (RFC 4951 §5.3). */
export const recoverQueued = (ctx: Ctx, max: number): void => {
  // Taken first: starting a recovery changes the queue.
  const batch = [...ctx.engine.pending.values()].slice(0, Math.max(0, max))
  for (const r of batch) startRecovery(ctx, r)
}
