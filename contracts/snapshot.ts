// Snapshot of one endpoint's connection table on l2tp.snapshots (compacted, key = endpoint id):
// the table in canonical form plus the l2tp.events partition and next offset it covers. Pure.
import * as t from 'io-ts'
import { sessionProps, tunnelProps } from './events.js'
import { Address, EndpointId, Epoch, Millis, NodeId, Offset, Seq, SessionId } from './ids.js'
import { Count, nullable, Role } from './parts.js'

export const SessionView = t.type({ ...sessionProps, establishedAt: Millis })
export type SessionView = t.TypeOf<typeof SessionView>

export const TunnelView = t.intersection([
  t.type({
    ...tunnelProps,
    establishedAt: Millis,
    recovering: t.boolean,
    recoveries: Count,
    lastRecoveredAt: nullable(Millis),
    sessions: t.array(SessionView),
  }),
  // Session ids released lately, oldest first (absent: none; snapshots of before the field).
  t.partial({ releasedSessionIds: t.array(SessionId) }),
])
export type TunnelView = t.TypeOf<typeof TunnelView>

export const CountersView = t.type({ duplicates: Count, staleRejected: Count, anomalies: Count, gaps: Count })

/** An endpoint's table as plain data, tunnels and sessions sorted by local id. */
export const TableView = t.type({
  endpointId: EndpointId,
  epoch: Epoch,
  seq: Count,
  owner: nullable(NodeId),
  active: t.boolean,
  role: nullable(Role),
  hostName: nullable(t.string),
  address: nullable(Address),
  consistent: t.boolean,
  lastGap: nullable(t.type({ epoch: Epoch, expected: Count, got: Seq })),
  lastEventAt: nullable(Millis),
  tunnels: t.array(TunnelView),
})
export type TableView = t.TypeOf<typeof TableView>

export const Snapshot = t.type({
  type: t.literal('Snapshot'),
  v: t.literal(1),
  endpointId: EndpointId,
  /** Partition of l2tp.events that holds this endpoint's events. */
  partition: Count,
  /** The first l2tp.events offset NOT covered: replay resumes here. */
  nextOffset: Offset,
  table: TableView,
  counters: CountersView,
})
export type Snapshot = t.TypeOf<typeof Snapshot>
