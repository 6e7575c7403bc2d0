// Pages of listings (contracts/paging.ts): items in sorted key order after the cursor, cut by
// count and by bytes; the cursor is the last key taken, so a page survives concurrent change.
// Tunnel and session listings of a table, and a table's rows. Pure.
import * as E from 'fp-ts/lib/Either.js'
import {
  DEFAULT_PAGE_LIMIT,
  errorReply,
  okReply,
  PAGE_MAX_BYTES,
  type Page,
  type Reply,
  type SessionItem,
  type TableHead,
  type TableRow,
  type TunnelFilter,
  type TunnelItem,
} from '../../contracts/index.js'
import { sessionView, toView, tunnelView } from './canonical.js'
import { type EndpointTable, sessionCount, type TunnelRecord } from './table.js'

/** An item with its key (the cursor of a page that ends with it). */
export type Keyed<A> = readonly [string, A]

export interface PageOptions {
  readonly limit?: number | undefined
  readonly maxBytes?: number | undefined
}

/** Bytes of a string in UTF-8 (what goes on the wire), without encoding it. */
export const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4
        i++
      } else n += 3
    } else n += 3
  }
  return n
}

/**
 * Takes items while the page holds fewer than `limit` and its JSON stays under `maxBytes` (at
 * least one item, so a page always moves on). `next` is the last key taken, or null at the end.
 */
export const takePage = <A>(items: Iterable<Keyed<A>>, o: PageOptions = {}): Page<A> => {
  const limit = o.limit ?? DEFAULT_PAGE_LIMIT
  const maxBytes = o.maxBytes ?? PAGE_MAX_BYTES
  const page: A[] = []
  let bytes = 0
  let last: string | null = null
  for (const [key, item] of items) {
    const size = utf8Length(JSON.stringify(item)) + 1
    if (page.length >= limit || (page.length > 0 && bytes + size > maxBytes))
      return { items: page, next: last }
    page.push(item)
    bytes += size
    last = key
  }
  return { items: page, next: null }
}

/** A position in (tunnel id, session id) order; session 0 is the tunnel's own row. */
export interface TablePos {
  readonly tunnel: number
  readonly session: number
}

const posKey = (p: TablePos): string => `${p.tunnel}/${p.session}`

/** Reads a cursor of a tunnel/session listing: "TID/SID" (or absent: from the start). */
export const parseTableCursor = (cursor: string | undefined): E.Either<string, TablePos | null> => {
  if (cursor === undefined) return E.right(null)
  const m = /^(\d{1,5})\/(\d{1,5})$/.exec(cursor)
  if (m === null) return E.left(`not a cursor of this listing: '${cursor.slice(0, 40)}'`)
  return E.right({ tunnel: Number(m[1]), session: Number(m[2]) })
}

const sortedKeys = (m: ReadonlyMap<number, unknown>): number[] => [...m.keys()].sort((a, b) => a - b)

/** `host` or `host:port` (an IPv6 host in brackets when a port follows). */
const peerMatches = (want: string, host: string, port: number): boolean => {
  if (want === host) return true
  const i = want.lastIndexOf(':')
  if (i < 0) return false
  return want.slice(0, i).replace(/^\[(.*)\]$/, '$1') === host && want.slice(i + 1) === String(port)
}

export const tunnelMatches = (t: TunnelRecord, f: TunnelFilter | undefined): boolean =>
  f === undefined ||
  ((f.localTunnelId === undefined || t.localTunnelId === f.localTunnelId) &&
    (f.peer === undefined || peerMatches(f.peer, t.peer.host, t.peer.port)) &&
    (f.peerHostName === undefined || t.peerHostName === f.peerHostName) &&
    (f.state === undefined || (f.state === 'recovering') === t.recovering))

/** Tunnels at or after `from` in id order that match the filter. */
function* tunnelsFrom(table: EndpointTable, from: number, f: TunnelFilter | undefined) {
  for (const id of sortedKeys(table.tunnels)) {
    if (id < from) continue
    const t = table.tunnels.get(id)
    if (t !== undefined && tunnelMatches(t, f)) yield t
  }
}

const tunnelHead = (t: TunnelRecord) => {
  const { sessions: _sessions, ...head } = tunnelView(t)
  return head
}

/** A node's tunnels after the cursor, with their session counts. */
export function* tunnelItems(
  table: EndpointTable,
  after: TablePos | null,
  f?: TunnelFilter,
): Generator<Keyed<TunnelItem>> {
  for (const t of tunnelsFrom(table, after === null ? 0 : after.tunnel + 1, f)) {
    const item: TunnelItem = { ...tunnelHead(t), sessions: t.sessions.size }
    yield [posKey({ tunnel: t.localTunnelId, session: 0 }), item] as const
  }
}

/** Sessions of one tunnel after a session id, in id order. */
function* sessionsOf(t: TunnelRecord, afterSession: number) {
  for (const sid of sortedKeys(t.sessions)) {
    const s = t.sessions.get(sid)
    if (sid > afterSession && s !== undefined) yield s
  }
}

/** A node's sessions after the cursor (tunnel by tunnel, in id order). */
export function* sessionItems(
  table: EndpointTable,
  after: TablePos | null,
  f?: TunnelFilter,
): Generator<Keyed<SessionItem>> {
  for (const t of tunnelsFrom(table, after?.tunnel ?? 0, f)) {
    const skip = after !== null && t.localTunnelId === after.tunnel ? after.session : 0
    for (const s of sessionsOf(t, skip)) {
      const item: SessionItem = { localTunnelId: t.localTunnelId, ...sessionView(s) }
      yield [posKey({ tunnel: t.localTunnelId, session: s.localSessionId }), item] as const
    }
  }
}

/** A table's rows after the cursor: each tunnel (session 0), then its sessions. */
export function* tableRows(
  table: EndpointTable,
  after: TablePos | null,
  f?: TunnelFilter,
): Generator<Keyed<TableRow>> {
  for (const t of tunnelsFrom(table, after?.tunnel ?? 0, f)) {
    const resume = after !== null && t.localTunnelId === after.tunnel
    if (!resume) {
      const row: TableRow = { kind: 'tunnel', sessionCount: t.sessions.size, tunnel: tunnelHead(t) }
      yield [posKey({ tunnel: t.localTunnelId, session: 0 }), row] as const
    }
    for (const s of sessionsOf(t, resume ? after.session : 0)) {
      const row: TableRow = { kind: 'session', localTunnelId: t.localTunnelId, session: sessionView(s) }
      yield [posKey({ tunnel: t.localTunnelId, session: s.localSessionId }), row] as const
    }
  }
}

/** The head of every page of a table: its fields but the tunnels, with counts. */
export const tableHead = (table: EndpointTable): TableHead => {
  const { tunnels: _tunnels, ...head } = toView({ ...table, tunnels: new Map() })
  return { ...head, tunnelCount: table.tunnels.size, sessionCount: sessionCount(table) }
}

/** The paging fields of a listing request (contracts pageProps). */
export interface PageRequest {
  readonly limit?: number
  readonly cursor?: string
}

/** A page of a tunnel/session listing, or BadRequest for a cursor of another listing. */
export const tablePage = <A>(
  r: PageRequest,
  items: (after: TablePos | null) => Iterable<Keyed<A>>,
): Reply<Page<A>> => {
  const after = parseTableCursor(r.cursor)
  return E.isLeft(after) ? errorReply('BadRequest', after.left) : okReply(takePage(items(after.right), r))
}
