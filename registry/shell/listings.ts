// The registry's paged listings (contracts/paging.ts): endpoints, an endpoint's table (live or
// as of a cut, the latter folded once and kept a minute for the pages that follow), timelines.
import * as E from 'fp-ts/lib/Either.js'
import {
  DEFAULT_PAGE_LIMIT,
  type EndpointFilter,
  type EndpointSummary,
  errorReply,
  Offset,
  okReply,
  type Page,
  type Reply,
  type TablePage,
  type TimelineItem,
  type TunnelFilter,
} from '../../contracts/index.js'
import {
  type EndpointTable,
  type Fleet,
  type PageRequest,
  parseTableCursor,
  tableHead,
  tableRows,
  takePage,
} from '../domain/index.js'
import { describeInfraError, type InfraError } from './errors.js'
import type { EventLogDeps } from './event-log.js'
import { type forensicsGate, stateAsOf, timeline } from './forensics.js'
import type { Cut } from './history.js'
import { nextOf } from './partition-reader.js'

/** Endpoints in id order after the cursor (an endpoint id), narrowed by owner and activity. */
export const endpointsPage = (
  fleet: Fleet,
  r: PageRequest & { readonly filter?: EndpointFilter },
  summaryOf: (t: EndpointTable) => EndpointSummary,
): Reply<Page<EndpointSummary>> => {
  const f = r.filter
  const ids = [...fleet.keys()].filter((id) => r.cursor === undefined || id > r.cursor).sort()
  function* items() {
    for (const id of ids) {
      const t = fleet.get(id)
      if (t === undefined) continue
      if (f?.owner !== undefined && t.owner !== f.owner) continue
      if (f?.active !== undefined && t.active !== f.active) continue
      yield [id, summaryOf(t)] as const
    }
  }
  return okReply(takePage(items(), r))
}

/** One page of a table's rows, under the table's head. */
export const tablePageOf = (
  t: EndpointTable,
  r: PageRequest & { readonly filter?: TunnelFilter },
): Reply<TablePage> => {
  const after = parseTableCursor(r.cursor)
  if (E.isLeft(after)) return errorReply('BadRequest', after.left)
  const page = takePage(tableRows(t, after.right, r.filter), r)
  return okReply({ table: tableHead(t), items: [...page.items], next: page.next })
}

const AS_OF_KEPT = 4
const AS_OF_TTL_MS = 60_000

/**
 * Tables as of a cut, folded from the log once for all the pages of one listing: the first page
 * (no cursor) folds the log, the pages after it (with a cursor) reuse that fold for a minute.
 */
export const asOfTables = (deps: EventLogDeps) => {
  const kept = new Map<string, { readonly at: number; readonly table: EndpointTable }>()
  return async (
    endpointId: string,
    cut: Cut,
    firstPage: boolean,
    now: number,
  ): Promise<E.Either<InfraError, EndpointTable>> => {
    const key = `${endpointId} ${JSON.stringify(cut)}`
    for (const [k, v] of kept) if (now - v.at > AS_OF_TTL_MS) kept.delete(k)
    const hit = firstPage ? undefined : kept.get(key)
    if (hit !== undefined) return E.right(hit.table)
    const t = await stateAsOf(deps, endpointId, cut)()
    if (E.isRight(t)) {
      kept.delete(key)
      kept.set(key, { at: now, table: t.right })
      for (const k of kept.keys()) if (kept.size > AS_OF_KEPT) kept.delete(k)
    }
    return t
  }
}

/** A page of a tunnel's or session's timeline: events after the cursor (an offset), in log order. */
export const timelinePage = async (
  deps: EventLogDeps,
  r: PageRequest & {
    readonly endpointId: string
    readonly localTunnelId: number
    readonly localSessionId: number | null
  },
): Promise<Reply<Page<TimelineItem>>> => {
  if (r.cursor !== undefined && !Offset.is(r.cursor))
    return errorReply('BadRequest', `not a cursor of this listing: '${r.cursor.slice(0, 40)}'`)
  const from = r.cursor === undefined ? undefined : nextOf(r.cursor)
  // One more than the page holds tells whether a next page exists; the read stops there.
  const max = (r.limit ?? DEFAULT_PAGE_LIMIT) + 1
  const events = await timeline(deps, r.endpointId, r.localTunnelId, r.localSessionId, from, max)()
  if (E.isLeft(events)) return errorReply('Unavailable', describeInfraError(events.left))
  return okReply(
    takePage(
      events.right.map((e) => [e.offset, e] as const),
      r,
    ),
  )
}

/** A forensic reply through the gate: `Busy` when too many reads already run. */
export const gated = async <A>(
  gate: ReturnType<typeof forensicsGate>,
  read: () => Promise<Reply<A>>,
): Promise<Reply<A>> => {
  const r = await gate.run(read)
  return E.isLeft(r)
    ? errorReply(
        'Busy',
        `${r.left.running} as-of/timeline reads already running (the most at once): retry shortly`,
      )
    : r.right
}
