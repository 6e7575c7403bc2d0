// Connects an endpoint to the event log: rehydrates its table from Kafka, takes the next epoch,
// records EndpointActivated, closes (in the log) tunnels of the old table this process does not
// hold, and streams every further event through the ordered outbox.
import * as E from 'fp-ts/lib/Either.js'
import { type Address, type EndpointId, unsafe } from '../../contracts/index.js'
import {
  describeInfraError,
  type EventLogDeps,
  loadEndpointSnapshot,
  openEndpointWriter,
  rehydrateEndpoint,
} from '../../registry/shell/index.js'
import { DEFAULT_OUTBOX, Outbox, type OutboxHooks, type OutboxOptions } from './outbox.js'
import type { UdpEndpoint } from './udp-endpoint.js'

export interface Publishing {
  readonly outbox: Outbox
  readonly epoch: number
  readonly rehydratedTunnels: number
}

export const startPublishing = async (
  endpoint: UdpEndpoint,
  deps: EventLogDeps,
  log: OutboxHooks['log'],
  options: OutboxOptions = DEFAULT_OUTBOX,
  onFenced: () => void = () => undefined,
): Promise<Publishing> => {
  const id: EndpointId = endpoint.identity.endpointId
  const rehydrated = await rehydrateEndpoint(deps, id, loadEndpointSnapshot)()
  if (E.isLeft(rehydrated)) throw new Error(`cannot rehydrate ${id}: ${describeInfraError(rehydrated.left)}`)
  const table = rehydrated.right.table
  const epoch = table.epoch + 1
  endpoint.adopt(table, epoch)
  const outbox = new Outbox(() => openEndpointWriter(deps, id), options, {
    onPressure: (full) => {
      endpoint.engine.refuseNew = full
    },
    onFenced: () => onFenced(),
    log,
  })
  endpoint.subscribe((e) => outbox.push(e))
  const address: Address = endpoint.bind
  endpoint.record({
    type: 'EndpointActivated',
    v: 1,
    address,
    role: endpoint.engine.config.role,
    hostName: endpoint.engine.config.hostName,
  } as never)
  // Without RFC 4951 recovery, tunnels of the previous owner are gone: record that, so the
  // registry's table and ours agree.
  const stale = [...table.tunnels.keys()].filter((tid) => !endpoint.engine.tunnels.has(tid))
  for (const tid of stale) {
    endpoint.record({
      type: 'TunnelClosed',
      v: 1,
      localTunnelId: unsafe.tunnelId(tid),
      resultCode: 6,
      errorCode: null,
      message: 'endpoint restarted; tunnel not recovered',
      closedBy: 'recovery',
    } as never)
  }
  return { outbox, epoch, rehydratedTunnels: stale.length }
}
