// evolve(table, event): the fold from lifecycle events to the connection table (DESIGN.md §4).
// Total and deterministic; never throws. The seq/epoch rules: a duplicate changes nothing,
// a gap marks the endpoint inconsistent, a stale epoch is rejected and counted.
// Ownership: evolve updates the table it is given and returns it (the fold owns its
// accumulator; see docs/decisions.md). Keep `cloneTable` of a version you still need.
import type { L2tpEvent, SessionId } from '../../contracts/index.js'
import {
  address,
  type EndpointTable,
  emptyTable,
  RELEASED_KEPT,
  sessionRecord,
  type TunnelRecord,
  tunnelRecord,
} from './table.js'

/** What the seq/epoch rules made of one event (for metrics). */
export type Verdict = 'applied' | 'gap' | 'duplicate' | 'stale' | 'foreign'

/** Applies one event to the table in place and says how it was taken. */
export const apply = (t: EndpointTable, e: L2tpEvent): Verdict => {
  if (e.endpointId !== t.endpointId) {
    t.counters.anomalies++
    return 'foreign'
  }
  if (e.epoch < t.epoch) {
    t.counters.staleRejected++
    return 'stale'
  }
  if (e.epoch > t.epoch) {
    // A new owner generation: its events count from seq 1.
    t.epoch = e.epoch
    t.seq = 0
  }
  if (e.seq <= t.seq) {
    t.counters.duplicates++
    return 'duplicate'
  }
  let verdict: Verdict = 'applied'
  if (e.seq !== t.seq + 1) {
    t.consistent = false
    t.lastGap = { epoch: e.epoch, expected: t.seq + 1, got: e.seq }
    t.counters.gaps++
    verdict = 'gap'
  }
  t.seq = e.seq
  t.lastEventAt = e.at
  applyBody(t, e)
  return verdict
}

export const evolve = (t: EndpointTable, e: L2tpEvent): EndpointTable => {
  apply(t, e)
  return t
}

const applyBody = (t: EndpointTable, e: L2tpEvent): void => {
  switch (e.type) {
    case 'EndpointActivated':
      t.owner = e.nodeId
      t.active = true
      t.role = e.role
      t.hostName = e.hostName
      t.address = address(e.address)
      return
    case 'EndpointReleased':
      t.owner = null
      t.active = false
      return
    case 'TunnelEstablished':
      if (t.tunnels.has(e.localTunnelId)) t.counters.anomalies++
      t.tunnels.set(
        e.localTunnelId,
        tunnelRecord(e, e.at, { recovering: false, recoveries: 0, lastRecoveredAt: null }),
      )
      return
    case 'TunnelClosed':
    case 'TunnelRecoveryFailed':
      if (!t.tunnels.delete(e.localTunnelId)) t.counters.anomalies++
      return
    case 'SessionEstablished': {
      const tunnel = t.tunnels.get(e.localTunnelId)
      if (tunnel === undefined) {
        t.counters.anomalies++
        return
      }
      if (tunnel.sessions.has(e.localSessionId)) t.counters.anomalies++
      tunnel.sessions.set(e.localSessionId, sessionRecord(e, e.at))
      return
    }
    case 'SessionClosed': {
      const tunnel = t.tunnels.get(e.localTunnelId)
      if (tunnel === undefined || !tunnel.sessions.delete(e.localSessionId)) t.counters.anomalies++
      else released(tunnel, e.localSessionId)
      return
    }
    case 'TunnelRecoveryStarted':
    case 'TunnelRecovered':
    case 'SessionsReconciled':
      applyRecovery(t, e)
      return
    case 'SetupRejected':
    case 'CommandApplied':
      return // audit and forensics only: the timeline keeps them, the table does not change
    default:
      absurd(e)
      return
  }
}

type RecoveryEvent = Extract<
  L2tpEvent,
  { type: 'TunnelRecoveryStarted' | 'TunnelRecovered' | 'SessionsReconciled' }
>

const applyRecovery = (t: EndpointTable, e: RecoveryEvent): void => {
  const tunnel = t.tunnels.get(e.localTunnelId)
  if (tunnel === undefined) {
    t.counters.anomalies++
    return
  }
  switch (e.type) {
    case 'TunnelRecoveryStarted':
      tunnel.recovering = true
      return
    case 'TunnelRecovered':
      tunnel.recovering = false
      tunnel.recoveries++
      tunnel.lastRecoveredAt = e.at
      return
    case 'SessionsReconciled':
      for (const sid of e.clearedSessionIds) if (tunnel.sessions.delete(sid)) released(tunnel, sid)
      return
    default:
      absurd(e)
      return
  }
}

/** Remembers a released session id, newest last, bounded (RFC 4951 §5.9 least recently used). */
const released = (tunnel: TunnelRecord, id: SessionId): void => {
  const ids = tunnel.releasedSessionIds
  const at = ids.indexOf(id)
  if (at >= 0) ids.splice(at, 1)
  ids.push(id)
  if (ids.length > RELEASED_KEPT) ids.shift()
}

const absurd = (x: never): void => {
  void x
}

/** Many endpoints: the fleet view of the registry. */
export type Fleet = Map<string, EndpointTable>

export const evolveFleet = (fleet: Fleet, e: L2tpEvent): Verdict => {
  let t = fleet.get(e.endpointId)
  if (t === undefined) {
    t = emptyTable(e.endpointId)
    fleet.set(e.endpointId, t)
  }
  return apply(t, e)
}

/** Folds events into a fresh fleet (or onto `from`, which it then owns). */
export const replay = (events: Iterable<L2tpEvent>, from: Fleet = new Map()): Fleet => {
  for (const e of events) evolveFleet(from, e)
  return from
}
