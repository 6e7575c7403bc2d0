// The one fold of emitted event bodies into a table, as the node shell does it (record(): the
// envelope, then the registry's evolve). Tests only.
import { type EventBody, unsafe, withEnvelope } from '../../contracts/index.js'
import { type EndpointTable, emptyTable, evolve } from '../../registry/index.js'

export interface FoldOptions {
  readonly endpointId?: string
  readonly epoch?: number
  readonly nodeId?: string
  /** The table to fold onto (a rehydrated one); a fresh one otherwise. */
  readonly onto?: EndpointTable
}

export const foldEvents = (events: readonly EventBody[], o: FoldOptions = {}): EndpointTable => {
  const endpointId = unsafe.endpointId(o.endpointId ?? 'lns-a')
  const env = (i: number) => ({
    endpointId,
    epoch: unsafe.epoch(o.epoch ?? 1),
    seq: unsafe.seq(i + 1),
    at: unsafe.millis(1),
    nodeId: unsafe.nodeId(o.nodeId ?? 'n'),
  })
  return events.reduce(
    (t, body, i) => evolve(t, withEnvelope(body, env(i))),
    o.onto ?? emptyTable(endpointId),
  )
}
