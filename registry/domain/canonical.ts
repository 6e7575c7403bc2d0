// Canonical form of a table: plain data with a fixed key order and tunnels/sessions sorted by
// id, so that two tables compare byte for byte. Snapshot encode/decode builds on it. Pure.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import {
  type ContractError,
  contractError,
  decodeSnapshotBinary as decodeBinary,
  encodeSnapshotBinary as encodeBinary,
  fromValidation,
  isBinarySnapshot,
  type Offset,
  Snapshot,
  type TableView,
} from '../../contracts/index.js'
import {
  type EndpointTable,
  type SessionRecord,
  sessionRecord,
  type TunnelRecord,
  tunnelRecord,
} from './table.js'

/** Values in key order (insertion order is usually id order already: then no sort). */
const byKey = <V>(m: Map<number, V>): V[] => {
  const keys = [...m.keys()]
  let sorted = true
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as number) < (keys[i] as number)
  if (!sorted) keys.sort((a, b) => a - b)
  return keys.map((k) => m.get(k) as V)
}

export const sessionView = (s: SessionRecord) => sessionRecord(s, s.establishedAt)

export const tunnelView = (t: TunnelRecord) => {
  const { sessions, releasedSessionIds, ...rest } = tunnelRecord(t, t.establishedAt, t)
  void sessions
  void releasedSessionIds
  // Released ids only when there are some: tables of before the field compare byte for byte.
  return {
    ...rest,
    ...(t.releasedSessionIds.length === 0 ? {} : { releasedSessionIds: [...t.releasedSessionIds] }),
    sessions: byKey(t.sessions).map(sessionView),
  }
}

const toViewHead = (t: EndpointTable): Omit<TableView, 'tunnels'> => ({
  endpointId: t.endpointId,
  epoch: t.epoch,
  seq: t.seq,
  owner: t.owner,
  active: t.active,
  role: t.role,
  hostName: t.hostName,
  address: t.address === null ? null : { host: t.address.host, port: t.address.port },
  consistent: t.consistent,
  lastGap:
    t.lastGap === null ? null : { epoch: t.lastGap.epoch, expected: t.lastGap.expected, got: t.lastGap.got },
  lastEventAt: t.lastEventAt,
})

export const toView = (t: EndpointTable): TableView => ({
  ...toViewHead(t),
  tunnels: byKey(t.tunnels).map(tunnelView),
})

/** The connection table as canonical JSON text (counters of the fold are not part of it). */
export const canonicalJson = (t: EndpointTable): string => JSON.stringify(toView(t))

/**
 * A table from its view. `fresh`: the session views were just built by a decoder with exactly a
 * session record's fields in its order (the binary reader), so they become the records as they are.
 */
export const fromView = (v: TableView, counters: EndpointTable['counters'], fresh = false): EndpointTable => {
  const tunnels = new Map<number, TunnelRecord>()
  for (const tv of v.tunnels) {
    const sessions = new Map<number, SessionRecord>()
    if (fresh) for (const sv of tv.sessions) sessions.set(sv.localSessionId, sv)
    else for (const sv of tv.sessions) sessions.set(sv.localSessionId, sessionRecord(sv, sv.establishedAt))
    tunnels.set(
      tv.localTunnelId,
      tunnelRecord(tv, tv.establishedAt, tv, sessions, [...(tv.releasedSessionIds ?? [])]),
    )
  }
  return {
    endpointId: v.endpointId,
    epoch: v.epoch,
    seq: v.seq,
    owner: v.owner,
    active: v.active,
    role: v.role,
    hostName: v.hostName,
    address: v.address,
    consistent: v.consistent,
    lastGap: v.lastGap,
    lastEventAt: v.lastEventAt,
    counters: { ...counters },
    tunnels,
  }
}

/** A deep copy, for callers that must keep a version while the fold goes on. */
export const cloneTable = (t: EndpointTable): EndpointTable => fromView(toView(t), t.counters)

export interface SnapshotOf {
  readonly table: EndpointTable
  readonly partition: number
  readonly nextOffset: Offset
}

/** The snapshot as JSON text (the format of before; `l2tpctl export` writes it in its lines). */
export const encodeSnapshot = (s: SnapshotOf): string =>
  JSON.stringify({
    type: 'Snapshot',
    v: 1,
    endpointId: s.table.endpointId,
    partition: s.partition,
    nextOffset: s.nextOffset,
    table: toView(s.table),
    counters: { ...s.table.counters },
  })

/** Tunnels and sessions in id order without copying the records: what the binary writer walks. */
const binaryView = (t: EndpointTable): TableView => {
  const view = toViewHead(t)
  const tunnels = byKey(t.tunnels).map((r) => {
    const { releasedSessionIds, ...rest } = r
    const sessions = byKey(r.sessions)
    return releasedSessionIds.length === 0 ? { ...rest, sessions } : { ...rest, releasedSessionIds, sessions }
  })
  const out: TableView = { ...view, tunnels }
  return out
}

/** The snapshot as a binary record (what the registry writes; contracts/snapshot-binary.ts). */
export const encodeSnapshotBinary = (s: SnapshotOf): Buffer =>
  encodeBinary({
    type: 'Snapshot',
    v: 1,
    endpointId: s.table.endpointId,
    partition: s.partition,
    nextOffset: s.nextOffset,
    table: binaryView(s.table),
    counters: { ...s.table.counters },
  })

/** A snapshot record, binary (first bytes 0x00 'S') or JSON text (the records of before). */
export const decodeSnapshot = (bytes: Buffer | string): E.Either<ContractError, SnapshotOf> => {
  if (typeof bytes !== 'string' && isBinarySnapshot(bytes)) {
    const r = decodeBinary(bytes)
    if (E.isLeft(r)) return r
    const s = r.right
    return E.right({
      table: fromView(s.table, s.counters, true),
      partition: s.partition,
      nextOffset: s.nextOffset,
    })
  }
  const json = J.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'))
  if (E.isLeft(json)) return E.left(contractError('snapshot', ['not JSON']))
  const r = Snapshot.decode(json.right)
  if (E.isLeft(r)) return E.left(fromValidation('snapshot', r.left))
  const s = r.right
  return E.right({ table: fromView(s.table, s.counters), partition: s.partition, nextOffset: s.nextOffset })
}
