// Connects an endpoint to the event log: rehydrates its table from Kafka, takes the next epoch,
// records EndpointActivated, closes (in the log) tunnels of the old table this process does not
// hold, and streams every further event through the ordered outbox, bounded by bytes. The
// steps are separate so that a takeover can run them in its order (ha-endpoint.ts).
import * as E from 'fp-ts/lib/Either.js'
import { type Address, type EndpointId, unsafe } from '../../contracts/index.js'
import type { EndpointTable } from '../../registry/index.js'
import {
  describeInfraError,
  type EndpointWriter,
  type EventLogDeps,
  loadEndpointSnapshot,
  loadPartitionCheckpoint,
  openEndpointWriter,
  rehydrateEndpoint,
  sendNodeDeadLetter,
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

/**
 * The endpoint's table from the log (snapshot + tail). A snapshot gap (the log's start cut by
 * retention, no snapshot covering it) refuses the takeover: serving a partial table would drop
 * long-lived tunnels without a word.
 */
export const rehydrateOrRefuse = async (deps: EventLogDeps, id: EndpointId): Promise<EndpointTable> => {
  const rehydrated = await rehydrateEndpoint(deps, id, loadEndpointSnapshot, loadPartitionCheckpoint)()
  if (E.isLeft(rehydrated))
    throw new Error(
      rehydrated.left._tag === 'SnapshotGap'
        ? `refusing to take over ${id}: ${describeInfraError(rehydrated.left)}`
        : `cannot rehydrate ${id}: ${describeInfraError(rehydrated.left)}`,
    )
  return rehydrated.right.table
}

/**
 * Adopts the table under the epoch and streams every further event through a new outbox.
 * `writer`, when given, is the writer opened (and the old owner fenced) before rehydrating.
 */
export const attachOutbox = (
  endpoint: UdpEndpoint,
  deps: EventLogDeps,
  table: EndpointTable,
  epoch: number,
  log: OutboxHooks['log'],
  options: OutboxOptions = DEFAULT_OUTBOX,
  onFenced: () => void = () => undefined,
  writer: EndpointWriter | null = null,
): Outbox => {
  const id: EndpointId = endpoint.identity.endpointId
  endpoint.adopt(table, epoch)
  let first = writer
  const open = () => {
    const w = first
    first = null
    return w === null ? openEndpointWriter(deps, id) : async () => E.right(w)
  }
  const outbox = new Outbox(open, options, {
    onPressure: (full) => {
      endpoint.refusal.set('outbox', full)
    },
    onFenced: () => onFenced(),
    deadLetter: (e, bytes, reason) => sendNodeDeadLetter(deps, e, bytes, reason),
    log,
  })
  endpoint.subscribe((e) => outbox.push(e))
  return outbox
}

/**
 * Records EndpointActivated, closes in the log what cannot be recovered and starts the paced
 * RFC 4951 recoveries. Run once the endpoint's address is bound.
 */
export const activate = (
  endpoint: UdpEndpoint,
  table: EndpointTable,
  recoveryParallelism = 256,
): { rehydratedTunnels: number; recovering: number } => {
  const address: Address = endpoint.bind
  endpoint.record({
    type: 'EndpointActivated',
    v: 1,
    address,
    role: endpoint.engine.config.role,
    hostName: endpoint.engine.config.hostName,
  } as never)
  // RFC 4951: tunnels whose peer advertised failover (and we did) are recovered, paced; the
  // others are closed in the log, so the registry's table and ours agree.
  const plan = recoveryPlan(table)
  const held = (tid: number) => endpoint.engine.tunnels.has(tid)
  for (const tid of plan.close.filter((t) => !held(t))) {
    endpoint.record({
      type: 'TunnelClosed',
      v: 1,
      localTunnelId: unsafe.tunnelId(tid),
      resultCode: 6,
      errorCode: null,
      message: 'endpoint taken over; the peer cannot recover this tunnel',
      closedBy: 'recovery',
    } as never)
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
  return { rehydratedTunnels: plan.recover.length + plan.close.length, recovering: plan.recover.length }
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
  const table = await rehydrateOrRefuse(deps, endpoint.identity.endpointId)
  const epoch = Math.max(table.epoch + 1, leaseEpoch)
  const outbox = attachOutbox(endpoint, deps, table, epoch, log, options, onFenced)
  return { outbox, epoch, ...activate(endpoint, table, recoveryParallelism) }
}
