// Connects an endpoint to the event log: rehydrates its table from Kafka, takes the next epoch,
// streams every further event through the ordered outbox, and hands the table to the engine as
// a TakeOver input (the engine activates, closes and queues: nodes/engine/takeover.ts); the
// shell only paces the queued recoveries. Shell.
import * as E from 'fp-ts/lib/Either.js'
import type { EndpointId } from '../../contracts/index.js'
import {
  describeInfraError,
  type EventLogDeps,
  loadEndpointSnapshot,
  loadPartitionCheckpoint,
  openEndpointWriter,
  rehydrateEndpoint,
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
  return {
    outbox,
    epoch,
    rehydratedTunnels: took?.rehydrated ?? 0,
    recovering: took?.recoverable ?? 0,
  }
}
