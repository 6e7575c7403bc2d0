// Connects an endpoint to the event log: rehydrates its table from Kafka, takes the next epoch,
// hands the table to the engine as a TakeOver input (the engine activates, closes and queues:
// nodes/engine/takeover.ts) and streams every further event through the ordered outbox, bounded
// by bytes; the shell only paces the queued recoveries. The steps are separate so that a
// takeover can run them in its order (ha-endpoint.ts).
import * as E from 'fp-ts/lib/Either.js'
import type { EndpointId } from '../../contracts/index.js'
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
 * Hands the table to the engine (TakeOver: EndpointActivated, closes of what cannot be
 * recovered, recoveries queued) and paces the queued RFC 4951 recoveries. Run once the
 * endpoint's address is bound.
 */
export const activate = (
  endpoint: UdpEndpoint,
  table: EndpointTable,
  epoch: number,
  recoveryParallelism = 256,
): { rehydratedTunnels: number; recovering: number } => {
  // The engine decides the takeover (nodes/engine/takeover.ts); the shell only paces recoveries.
  const fx = endpoint.input({ _tag: 'TakeOver', table, epoch })
  const took = fx.find((f) => f._tag === 'TakenOver')
  // One Recover input per queued tunnel, `recoveryParallelism` every 10 ms. (A single
  // RecoverQueued{max} per batch lost recoveries in the 500-tunnel failover e2e: not found yet.)
  const queue = [...endpoint.engine.pending.values()]
  const pace = () => {
    for (const r of queue.splice(0, recoveryParallelism)) endpoint.input({ _tag: 'Recover', tunnel: r })
    if (queue.length > 0) setTimeout(pace, 10)
  }
  pace()
  return { rehydratedTunnels: took?.rehydrated ?? 0, recovering: took?.recoverable ?? 0 }
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
  return { outbox, epoch, ...activate(endpoint, table, epoch, recoveryParallelism) }
}
