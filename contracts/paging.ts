// Paged listings (STYLE.md §12): a listing request takes optional `limit`, `cursor` and `filter`;
// the reply is `{ items, next }`, `next` null on the last page. Cursors are opaque to callers
// (the last key seen, in sorted id order), so every item appears once when nothing changes. Pure.
import * as t from 'io-ts'
import { L2tpEvent } from './events.js'
import { Offset, TunnelId } from './ids.js'
import { Count } from './parts.js'
import { SessionView, TableView, TunnelView } from './snapshot.js'

/** Items per page when the caller names no limit; a page also stops at PAGE_MAX_BYTES. */
export const DEFAULT_PAGE_LIMIT = 500
/** The most items a caller may ask for in one page. */
export const MAX_PAGE_LIMIT = 5000
/** A page stops before its items' JSON passes this many bytes (far below NATS max_payload). */
export const PAGE_MAX_BYTES = 256 * 1024

const PageLimit = t.refinement(t.Int, (n) => n >= 1 && n <= MAX_PAGE_LIMIT, 'PageLimit')

/** Where the next page starts: opaque, handed back as it came. */
export const Cursor = t.string
export type Cursor = t.TypeOf<typeof Cursor>

/** Tunnel state as a listing filter: established, or in RFC 4951 recovery. */
export const TunnelState = t.keyof({ established: null, recovering: null }, 'TunnelState')
export type TunnelState = t.TypeOf<typeof TunnelState>

/** Filters of tunnel and session listings; every given field must match. */
export const TunnelFilter = t.partial({
  localTunnelId: TunnelId,
  /** `host` or `host:port` of the peer. */
  peer: t.string,
  peerHostName: t.string,
  state: TunnelState,
})
export type TunnelFilter = t.TypeOf<typeof TunnelFilter>

/** The optional paging fields of a listing request (old callers send none of them). */
export const pageProps = <F extends t.Mixed>(filter: F) =>
  t.partial({ limit: PageLimit, cursor: Cursor, filter })

export const Page = <C extends t.Mixed>(item: C) =>
  t.type({ items: t.array(item), next: t.union([Cursor, t.null]) })
export interface Page<A> {
  readonly items: readonly A[]
  readonly next: Cursor | null
}

// --- an endpoint's table, paged ---------------------------------------------------------------
/** The table's fields but its tunnels, with counts: the head of every page of an endpoint's table. */
const { tunnels: _tunnels, ...headProps } = TableView.props
export const TableHead = t.type({ ...headProps, tunnelCount: Count, sessionCount: Count })
export type TableHead = t.TypeOf<typeof TableHead>

const [tunnelType, tunnelPartial] = TunnelView.types
const { sessions: _sessions, ...tunnelHeadProps } = tunnelType.props
export const TunnelHead = t.intersection([t.type(tunnelHeadProps), tunnelPartial])
export type TunnelHead = t.TypeOf<typeof TunnelHead>

/**
 * One row of a table in canonical order: a tunnel (without its sessions), then its sessions by
 * id, then the next tunnel. One tunnel may hold 65,535 sessions, so rows, not tunnels, are paged.
 */
export const TableRow = t.union([
  t.type({ kind: t.literal('tunnel'), sessionCount: Count, tunnel: TunnelHead }),
  t.type({ kind: t.literal('session'), localTunnelId: TunnelId, session: SessionView }),
])
export type TableRow = t.TypeOf<typeof TableRow>

export const TablePage = t.intersection([t.type({ table: TableHead }), Page(TableRow)])
export type TablePage = t.TypeOf<typeof TablePage>

/** Rebuilds the table view (canonical order and fields) from its head and every row, in order. */
export const viewFromRows = (head: TableHead, rows: readonly TableRow[]): TableView => {
  const { tunnelCount: _t, sessionCount: _s, ...table } = head
  const tunnels: TunnelView[] = []
  let current: TunnelView | null = null
  for (const r of rows) {
    if (r.kind === 'tunnel') {
      current = { ...r.tunnel, sessions: [] }
      tunnels.push(current)
    } else if (current !== null && current.localTunnelId === r.localTunnelId) current.sessions.push(r.session)
  }
  return { ...table, tunnels }
}

// --- items of the other listings --------------------------------------------------------------
/** A node's tunnel: the tunnel's fields and how many sessions it holds. */
export const TunnelItem = t.intersection([TunnelHead, t.type({ sessions: Count })])
export type TunnelItem = t.TypeOf<typeof TunnelItem>

/** A node's session, with the tunnel it belongs to. */
export const SessionItem = t.intersection([t.type({ localTunnelId: TunnelId }), SessionView])
export type SessionItem = t.TypeOf<typeof SessionItem>

/** One event of a timeline with where it is in the log. */
export const TimelineItem = t.type({ partition: Count, offset: Offset, event: L2tpEvent })
export type TimelineItem = t.TypeOf<typeof TimelineItem>
