// l2tpctl commands answered by the registry over NATS (paged listings: endpoints, an endpoint's
// table live or as of a cut, timelines) and the forensics that read Kafka (export, diff) or a
// file (replay).
import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import {
  type EndpointSummary,
  EndpointsPage,
  missingOf,
  Page,
  type TableHead,
  TablePage,
  type TableRow,
  type TableView,
  TimelineItem,
  type TunnelHead,
  unsafe,
} from '../../../contracts/index.js'
import { diffTables, type EndpointTable, emptyTable, toView } from '../../domain/index.js'
import { describeInfraError, exportRange, makeKafka, replayNdjson, toNdjson } from '../../shell/index.js'
import { brokersFromEnv, kafkaSecurityFromEnv, topicsFromEnv } from '../env.js'
import { stateText } from '../fleet-view.js'
import { type Command, Failure, idOf, need, pages, str, time, Usage } from './context.js'
import { tunnelFilter } from './node-commands.js'
import { col, type Output } from './output.js'

const headLine = (v: Omit<TableView, 'tunnels'>): string =>
  `endpoint ${v.endpointId}  epoch ${v.epoch}  owner ${v.owner ?? '-'}  ${v.active ? 'active' : 'inactive'}  ${v.consistent ? 'consistent' : `INCONSISTENT (gap ${JSON.stringify(v.lastGap)})`}`
const TUNNELS_HEADER = 'TUNNEL  REMOTE  PEER                   HOST              SESSIONS  FAILOVER'
const tunnelLine = (t: TunnelHead, sessions: number): string =>
  `${col(t.localTunnelId, 8)}${col(t.remoteTunnelId, 8)}${col(`${t.peer.host}:${t.peer.port}`, 23)}${col(t.peerHostName.slice(0, 16), 18)}${col(sessions, 10)}${t.peerFailover === null ? 'no' : `C=${t.peerFailover.control} D=${t.peerFailover.data}`}`

/** A whole table (replay): the header, the counts and one line per tunnel. */
const tableText = (v: TableView): string =>
  [
    headLine(v),
    `${v.tunnels.length} tunnels, ${v.tunnels.reduce((n, t) => n + t.sessions.length, 0)} sessions`,
    TUNNELS_HEADER,
    ...v.tunnels.map((t) => tunnelLine(t, t.sessions.length)),
  ].join('\n')

const endpoints: Command = async (c) => {
  const owner = str(c.values, 'owner')
  const state = str(c.values, 'state')
  if (state !== undefined && state !== 'active' && state !== 'inactive')
    throw new Usage(`--state must be active or inactive, got '${state}'`)
  const filter = {
    ...(owner === undefined ? {} : { owner }),
    ...(state === undefined ? {} : { active: state === 'active' }),
  }
  const list = c.out.listing<EndpointSummary>({
    header: 'ENDPOINT          OWNER      EPOCH  TUNNELS  SESSIONS  STATE',
    row: (e) =>
      `${col(e.endpointId, 18)}${col(e.owner ?? '-', 11)}${col(e.epoch, 7)}${col(e.tunnels, 9)}${col(e.sessions, 10)}${stateText(e)}`,
  })
  const body = { type: 'ListEndpoints', v: 1, filter }
  const missing = new Set<number>()
  for await (const p of pages(c, 'l2tp.registry.endpoints', body, EndpointsPage)) {
    for (const m of missingOf(p) ?? []) missing.add(m)
    await list.page(p.items)
  }
  await list.end()
  // A gathered listing that lacks partitions says so (exit 1), never passes for the whole fleet.
  if (missing.size > 0) throw new Failure(incomplete(missing))
}

/** `incomplete: missing partitions 1, 3 (...)`: what a listing gathered from partitions lacked. */
export const incomplete = (missing: ReadonlySet<number>): string =>
  `incomplete: missing partitions ${[...missing].sort((a, b) => a - b).join(', ')} (no registry instance answered for them: being restored or rebalanced; retry)`

/**
 * Writes a paged table as it comes. JSON: the table view itself (the same document as before
 * paging, tunnels with their sessions), streamed; NDJSON: the head, then one line per row.
 */
export const tableWriter = (out: Output) => {
  let open: 'none' | 'tunnels' | 'sessions' = 'none'
  let sessionsInTunnel = 0
  const json = (rows: readonly TableRow[]): string =>
    rows
      .map((r) => {
        if (r.kind === 'session') return `${sessionsInTunnel++ === 0 ? '' : ','}${JSON.stringify(r.session)}`
        const close = open === 'sessions' ? ']},' : ''
        open = 'sessions'
        sessionsInTunnel = 0
        return `${close}${JSON.stringify(r.tunnel).slice(0, -1)},"sessions":[`
      })
      .join('')
  return {
    page: (head: TableHead, rows: readonly TableRow[], first: boolean): Promise<void> => {
      const { tunnelCount, sessionCount, ...view } = head
      switch (out.format) {
        case 'json': {
          const start = first ? `${JSON.stringify(view).slice(0, -1)},"tunnels":[` : ''
          if (first) open = 'tunnels'
          return out.write(start + json(rows))
        }
        case 'ndjson':
          return out.write(
            (first ? `${JSON.stringify({ kind: 'table', table: head })}\n` : '') +
              rows.map((r) => `${JSON.stringify(r)}\n`).join(''),
          )
        case 'human': {
          const start = first
            ? `${headLine(view)}\n${tunnelCount} tunnels, ${sessionCount} sessions\n${TUNNELS_HEADER}\n`
            : ''
          const lines = rows.flatMap((r) =>
            r.kind === 'tunnel' ? [`${tunnelLine(r.tunnel, r.sessionCount)}\n`] : [],
          )
          return out.write(start + lines.join(''))
        }
      }
    },
    end: (): Promise<void> =>
      out.format === 'json' ? out.write(`${open === 'sessions' ? ']}' : ''}]}\n`) : Promise.resolve(),
  }
}

const state: Command = async (c) => {
  const v = c.values
  const endpointId = need(str(v, 'endpoint'), '--endpoint')
  const asOf = str(v, 'as-of')
  const offset = str(v, 'offset')
  if (asOf !== undefined && offset !== undefined) throw new Usage('give --as-of or --offset, not both')
  const filter = tunnelFilter(v, true)
  const [subject, body] =
    asOf === undefined && offset === undefined
      ? ['l2tp.registry.endpoint', { type: 'GetEndpoint', v: 1, endpointId, filter }]
      : [
          'l2tp.registry.as-of',
          {
            type: 'GetStateAsOf',
            v: 1,
            endpointId,
            asOf: asOf !== undefined ? { at: time(asOf, '--as-of') } : { offset },
            filter,
          },
        ]
  const w = tableWriter(c.out)
  let first = true
  for await (const p of pages(c, subject, body, TablePage)) {
    await w.page(p.table, p.items, first)
    first = false
  }
  await w.end()
}

const timeline: Command = async (c) => {
  const v = c.values
  const spec = str(v, 'session') ?? str(v, 'tunnel')
  const parts = need(spec, '--tunnel X/TID or --session X/TID/SID').split('/')
  if (parts.length !== (str(v, 'session') !== undefined ? 3 : 2))
    throw new Usage('expected X/TID or X/TID/SID')
  const body = {
    type: 'GetTimeline',
    v: 1,
    endpointId: need(parts[0], 'the endpoint of X/TID'),
    localTunnelId: idOf(parts[1] ?? '', 'TID'),
    localSessionId: parts[2] === undefined ? null : idOf(parts[2], 'SID'),
  }
  const list = c.out.listing<TimelineItem>({
    header: null,
    row: ({ offset, event: e }) =>
      `${new Date(e.at).toISOString()}  @${offset}  e${e.epoch}#${e.seq}  ${e.type}${e.type === 'CommandApplied' ? ` ${e.command} by ${e.issuer}: ${e.result}` : ''}`,
  })
  for await (const p of pages(c, 'l2tp.registry.timeline', body, Page(TimelineItem))) await list.page(p.items)
  await list.end()
}

const kafkaDeps = () => ({
  kafka: makeKafka({ brokers: brokersFromEnv(), clientId: 'l2tpctl', ...kafkaSecurityFromEnv() }),
  names: topicsFromEnv(),
})

/** NDJSON lines written in chunks of at most this many, each after the previous one was taken. */
const EXPORT_CHUNK = 1000

const exportCmd: Command = async (c) => {
  const to = time(need(str(c.values, 'to'), '--to'), '--to')
  const fromS = str(c.values, 'from')
  const lines = await exportRange(kafkaDeps(), fromS === undefined ? null : time(fromS, '--from'), to)()
  if (E.isLeft(lines)) throw new Failure(describeInfraError(lines.left))
  for (let i = 0; i < lines.right.length; i += EXPORT_CHUNK)
    await c.out.write(toNdjson(lines.right.slice(i, i + EXPORT_CHUNK)))
}

const replay: Command = async (c) => {
  const file = need(str(c.values, 'file'), '--file')
  const asOf = str(c.values, 'as-of')
  const text = (() => {
    try {
      return readFileSync(file, 'utf8')
    } catch (e) {
      throw new Failure(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`)
    }
  })()
  const r = replayNdjson(text, asOf === undefined ? null : { at: time(asOf, '--as-of') })
  const only = str(c.values, 'endpoint')
  const tables = [...r.fleet.values()].filter((t) => only === undefined || t.endpointId === only).map(toView)
  if (only !== undefined && tables.length === 0) throw new Failure(`no endpoint ${only} in ${file}`)
  await c.out.one({ badLines: r.badLines, tables }, () =>
    [...tables.map(tableText), r.badLines > 0 ? `(${r.badLines} unreadable lines skipped)` : '']
      .join('\n\n')
      .trim(),
  )
}

const diff: Command = async (c) => {
  const from = time(need(str(c.values, 'from'), '--from'), '--from')
  const to = time(need(str(c.values, 'to'), '--to'), '--to')
  const lines = await exportRange(kafkaDeps(), from, to)()
  if (E.isLeft(lines)) throw new Failure(describeInfraError(lines.left))
  const text = toNdjson(lines.right)
  const a = replayNdjson(text, { at: from }).fleet
  const b = replayNdjson(text, { at: to }).fleet
  const only = str(c.values, 'endpoint')
  const ids = [...new Set([...a.keys(), ...b.keys()])]
    .filter((id) => only === undefined || id === only)
    .sort()
  const empty = (id: string): EndpointTable => emptyTable(unsafe.endpointId(id))
  const diffs = ids.map((id) => ({
    endpointId: id,
    ...diffTables(a.get(id) ?? empty(id), b.get(id) ?? empty(id)),
  }))
  await c.out.one(diffs, () =>
    diffs
      .map(
        (d) =>
          `${d.endpointId}: tunnels +${d.tunnelsAdded.length} -${d.tunnelsRemoved.length} ~${d.tunnelsChanged.length}; sessions +${d.sessionsAdded.length} -${d.sessionsRemoved.length} ~${d.sessionsChanged.length}`,
      )
      .join('\n'),
  )
}

/** Registry queries and forensics. */
export const registryCommands: Readonly<Record<string, Command>> = {
  endpoints,
  state,
  timeline,
  export: exportCmd,
  replay,
  diff,
}
