// Connects an endpoint to the event log: rehydrates its table from Kafka, takes the next epoch,
// records EndpointActivated, closes (in the log) tunnels of the old table this process does not
// hold, and streams every further event through the ordered outbox.
import * as E from 'fp-ts/lib/Either.js'
import { type Address, type EndpointId, endpointActivated, tunnelClosed } from '../../contracts/index.js'
import {
  describeInfraError,
  type EventLogDeps,
  loadEndpointSnapshot,
  loadPartitionCheckpoint,
  openEndpointWriter,
  rehydrateEndpoint,
} from '../../registry/shell/index.js'
import { recoveryPlan } from '../engine/recoverable.js'
import { DEFAULT_OUTBOX, Outbox, type OutboxHooks, type OutboxOptions } from './outbox.js'
import type { UdpEndpoint } from './udp-endpoint.js'

export interface Publishing {
  readonly outbox: Outbox
  readonly epoch: number
  readonly rehydratedTunnels: number
  /** Tunnels handed to RFC 4951 recovery. */
  readonly recovering: number
}

export const startPublishing = async (
  endpoint: UdpEndpoint,
  deps: EventLogDeps,
  log: OutboxHooks['log'],
  options: OutboxOptions = DEFAULT_OUTBOX,
  onFenced: () => void = () => undefined,
  recoveryParallelism = 256,
  /** The lease's epoch, when a lease decides ownership; the next epoch of the log otherwise. */
  leaseEpoch = 0,
): Promise<Publishing> => {
  const id: EndpointId = endpoint.identity.endpointId
  // A snapshot gap (the log's start cut by retention, no snapshot covering it) refuses the
  // takeover: serving a partial table would drop long-lived tunnels without a word.
  const rehydrated = await rehydrateEndpoint(deps, id, loadEndpointSnapshot, loadPartitionCheckpoint)()
  if (E.isLeft(rehydrated))
    throw new Error(
      rehydrated.left._tag === 'SnapshotGap'
        ? `refusing to take over ${id}: ${describeInfraError(rehydrated.left)}`
        : `cannot rehydrate ${id}: ${describeInfraError(rehydrated.left)}`,
    )
  const table = rehydrated.right.table
  const epoch = Math.max(table.epoch + 1, leaseEpoch)
  endpoint.adopt(table, epoch)
  const outbox = new Outbox(() => openEndpointWriter(deps, id), options, {
    onPressure: (full) => {
      endpoint.refusal.set('outbox', full)
    },
    onFenced: () => onFenced(),
    log,
  })
  endpoint.subscribe((e) => outbox.push(e))
  const address: Address = endpoint.bind
  endpoint.record(
    endpointActivated({
      address,
      role: endpoint.engine.config.role,
      hostName: endpoint.engine.config.hostName,
    }),
  )
  // RFC 4951: tunnels whose peer advertised failover (and we did) are recovered, paced; the
  // others are closed in the log, so the registry's table and ours agree.
  const plan = recoveryPlan(table)
  const held = (tid: number) => endpoint.engine.tunnels.has(tid)
  for (const tid of plan.close.filter((t) => !held(t))) {
    endpoint.record(
      tunnelClosed(tid, {
        resultCode: 6,
        errorCode: null,
        message: 'endpoint taken over; the peer cannot recover this tunnel',
        closedBy: 'recovery',
      }),
    )
  }
  const buriedTunnels = plan.close.flatMap((tid) => {
    const t = table.tunnels.get(tid)
    return t === undefined || held(tid)
      ? []
      : [{ localTunnelId: tid, remoteTunnelId: t.remoteTunnelId, peer: t.peer }]
  })
  endpoint.input({ _tag: 'Bury', tunnels: buriedTunnels })
  const queue = plan.recover.filter((r) => !held(r.localTunnelId))
  // Old ids stay reserved until their recovery starts: no recovery tunnel may take one (FO-11);
  // a peer that failed over too may recover a queued one first (RFC 4951 §5.6).
  endpoint.input({ _tag: 'QueueRecovery', tunnels: queue })
  const pace = () => {
    for (const r of queue.splice(0, recoveryParallelism)) endpoint.input({ _tag: 'Recover', tunnel: r })
    if (queue.length > 0) setTimeout(pace, 10)
  }
  pace()
  return {
    outbox,
    epoch,
    rehydratedTunnels: plan.recover.length + plan.close.length,
    recovering: plan.recover.length,
  }
}
