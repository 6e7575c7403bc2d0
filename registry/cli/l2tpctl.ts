#!/usr/bin/env node
// l2tpctl: the operator CLI. Live views through the registry over NATS; forensics (export,
// diff) read Kafka directly; replay works on an exported file with no broker at all.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { issuedSubject, unsafe } from '../../contracts/index.js'
import { diffTables, type EndpointTable, emptyTable, toView } from '../domain/index.js'
import {
  connectNats,
  describeInfraError,
  describeRequestError,
  exportRange,
  makeKafka,
  replayNdjson,
  request,
  toNdjson,
} from '../shell/index.js'
import {
  brokersFromEnv,
  CREDENTIALS_HELP,
  kafkaSecurityFromEnv,
  natsFromEnv,
  parseTime,
  topicsFromEnv,
} from './env.js'

const HELP = `l2tpctl: operate and investigate the L2TP registry

Usage: l2tpctl COMMAND [options] [--json]

Commands:
  endpoints                                   every endpoint: owner, epoch, tunnels, sessions, consistency
  state --endpoint X [--as-of TIME | --offset N]
                                              an endpoint's table, live or as of a time / an offset of its partition
  timeline --tunnel X/TID | --session X/TID/SID
                                              every event of a tunnel or session, operator commands included
  export [--from TIME] --to TIME              the range as NDJSON on stdout (state at --from, then the events)
  replay --file FILE [--as-of TIME] [--endpoint X]
                                              fold an exported file offline (no broker needed)
  diff --from TIME --to TIME [--endpoint X]   tunnels and sessions added, removed, changed between two times

Node commands (answered by the node serving the endpoint; audited as CommandApplied events):
  node --node N                               a node's status: endpoints it serves, endpoints it stands by for
  tunnels --endpoint X                        the serving node's tunnels (with session counts)
  sessions --endpoint X [--tunnel TID]        the serving node's sessions
  close-tunnel --endpoint X --tunnel TID [--reason TEXT]
                                              StopCCN (result 1) to the peer; the tunnel and its sessions close
  close-session --endpoint X --session TID/SID [--reason TEXT]
                                              CDN (result 3) to the peer
  sync --endpoint X [--tunnel TID]            RFC 4951 session synchronisation on demand (FSQ/FSR)
  drain --endpoint X                          refuse new tunnels and sessions; established ones stay
  release --endpoint X                        planned switchover: the owner hands the endpoint to a standby
  takeover --node N --endpoint X              a standby node claims the endpoint now (asks the owner to release first)

TIME is epoch milliseconds or ISO 8601 (2026-11-22T03:12:07Z).
Options: --json (machine output), --timeout MS (NATS requests, default 10000), --help.
Commands that change state are audited under the NATS user l2tpctl connects as (NATS_USER).
Environment: NATS_URL, KAFKA_BROKERS, L2TP_TOPIC_PREFIX. The NATS identity is NATS_USER (dev default:
operator, from infra's store); an auditor identity may look but not change anything.
${CREDENTIALS_HELP}
Exit codes: 0 ok, 1 failure (not found, unreachable), 2 bad usage.`

class Usage extends Error {}
class Failure extends Error {}

const need = (v: string | undefined, what: string): string => {
  if (v === undefined || v === '') throw new Usage(`${what} is required`)
  return v
}
const time = (v: string, flag: string): number => {
  const t = parseTime(v)
  if (t === null) throw new Usage(`${flag} must be epoch ms or ISO 8601, got '${v}'`)
  return t
}

type Values = Record<string, string | boolean | undefined>
const str = (v: Values, k: string): string | undefined =>
  typeof v[k] === 'string' ? (v[k] as string) : undefined

const out = (json: boolean, data: unknown, human: () => string) =>
  console.log(json ? JSON.stringify(data, null, 2) : human())

/**
 * One request as the connecting user. A state-changing one (`issued`) goes to the subject plus
 * the user's name: the server allows only that, so the node audits the authenticated identity.
 */
const ask = async (subject: string, body: unknown, timeoutMs: number, issued = false): Promise<unknown> => {
  const nats = natsFromEnv('operator')
  const nc = await connectNats({ ...nats, name: 'l2tpctl' })()
  if (E.isLeft(nc)) throw new Failure(`cannot reach NATS: ${nc.left.detail}`)
  try {
    const r = await request(nc.right, issued ? issuedSubject(subject, nats.user) : subject, body, timeoutMs)()
    if (E.isLeft(r)) throw new Failure(describeRequestError(r.left))
    const reply = r.right as { ok?: boolean; result?: unknown; code?: string; message?: string }
    if (reply.ok !== true)
      throw new Failure(`${reply.code ?? 'Error'}: ${reply.message ?? 'request refused'}`)
    return reply.result
  } finally {
    await nc.right.close()
  }
}

const tableText = (v: ReturnType<typeof toView>): string => {
  const lines = [
    `endpoint ${v.endpointId}  epoch ${v.epoch}  owner ${v.owner ?? '-'}  ${v.active ? 'active' : 'inactive'}  ${v.consistent ? 'consistent' : `INCONSISTENT (gap ${JSON.stringify(v.lastGap)})`}`,
    `${v.tunnels.length} tunnels, ${v.tunnels.reduce((n, t) => n + t.sessions.length, 0)} sessions`,
    'TUNNEL  REMOTE  PEER                   HOST              SESSIONS  FAILOVER',
  ]
  for (const t of v.tunnels) {
    lines.push(
      `${String(t.localTunnelId).padEnd(8)}${String(t.remoteTunnelId).padEnd(8)}${`${t.peer.host}:${t.peer.port}`.padEnd(23)}${t.peerHostName.slice(0, 16).padEnd(18)}${String(t.sessions.length).padEnd(10)}${t.peerFailover === null ? 'no' : `C=${t.peerFailover.control} D=${t.peerFailover.data}`}`,
    )
  }
  return lines.join('\n')
}

const idOf = (s: string, what: string): number => {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Usage(`${what} must be 1..65535, got '${s}'`)
  return n
}
const ep = (v: Values) => need(str(v, 'endpoint'), '--endpoint')
const epSubject = (v: Values, what: string) => `l2tp.ep.${ep(v)}.${what}`
const done = (json: boolean, result: unknown) =>
  out(json, result, () =>
    Object.entries(result as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${String(x)}`)
      .join('\n'),
  )

/** Commands answered by the node that serves the endpoint (DESIGN.md §6). */
const nodeCommands: Record<string, (v: Values, json: boolean, timeout: number) => Promise<void>> = {
  node: async (v: Values, json: boolean, timeout: number) => {
    const node = need(str(v, 'node'), '--node')
    const r = (await ask(`l2tp.node.${node}.status`, { type: 'GetNodeStatus', v: 1 }, timeout)) as {
      nodeId: string
      uptimeMs: number
      endpoints: Array<Record<string, unknown>>
      standbyFor: string[]
    }
    out(json, r, () =>
      [
        `node ${r.nodeId}  up ${Math.round(r.uptimeMs / 1000)} s  standby for: ${r.standbyFor.join(', ') || '-'}`,
        'ENDPOINT          ROLE  EPOCH  TUNNELS  SESSIONS',
        ...r.endpoints.map(
          (e) =>
            `${String(e.endpointId).padEnd(18)}${String(e.role).padEnd(6)}${String(e.epoch).padEnd(7)}${String(e.tunnels).padEnd(9)}${String(e.sessions)}`,
        ),
      ].join('\n'),
    )
  },
  tunnels: async (v: Values, json: boolean, timeout: number) => {
    const r = (await ask(
      epSubject(v, 'tunnels'),
      { type: 'ListTunnels', v: 1, endpointId: ep(v) },
      timeout,
    )) as Array<Record<string, unknown> & { peer: { host: string; port: number } }>
    out(json, r, () =>
      [
        'TUNNEL  REMOTE  PEER                   HOST              SESSIONS',
        ...r.map(
          (t) =>
            `${String(t.localTunnelId).padEnd(8)}${String(t.remoteTunnelId).padEnd(8)}${`${t.peer.host}:${t.peer.port}`.padEnd(23)}${String(t.peerHostName).slice(0, 16).padEnd(18)}${String(t.sessions)}`,
        ),
      ].join('\n'),
    )
  },
  sessions: async (v: Values, json: boolean, timeout: number) => {
    const tunnel = str(v, 'tunnel')
    const r = (await ask(
      epSubject(v, 'sessions'),
      {
        type: 'ListSessions',
        v: 1,
        endpointId: ep(v),
        localTunnelId: tunnel === undefined ? null : idOf(tunnel, '--tunnel'),
      },
      timeout,
    )) as Array<Record<string, unknown>>
    out(json, r, () =>
      [
        'TUNNEL  SESSION  REMOTE  DIRECTION  SEQ',
        ...r.map(
          (x) =>
            `${String(x.localTunnelId).padEnd(8)}${String(x.localSessionId).padEnd(9)}${String(x.remoteSessionId).padEnd(8)}${String(x.direction).padEnd(11)}${x.sequencing ? 'yes' : 'no'}`,
        ),
      ].join('\n'),
    )
  },
  'close-tunnel': async (v: Values, json: boolean, timeout: number) =>
    done(
      json,
      await ask(
        epSubject(v, 'close-tunnel'),
        {
          type: 'CloseTunnel',
          v: 1,
          endpointId: ep(v),
          localTunnelId: idOf(need(str(v, 'tunnel'), '--tunnel'), '--tunnel'),
          reason: str(v, 'reason') ?? null,
        },
        timeout,
        true,
      ),
    ),
  'close-session': async (v: Values, json: boolean, timeout: number) => {
    const parts = need(str(v, 'session'), '--session TID/SID').split('/')
    if (parts.length !== 2) throw new Usage('--session must be TID/SID')
    done(
      json,
      await ask(
        epSubject(v, 'close-session'),
        {
          type: 'CloseSession',
          v: 1,
          endpointId: ep(v),
          localTunnelId: idOf(parts[0] as string, 'TID'),
          localSessionId: idOf(parts[1] as string, 'SID'),
          reason: str(v, 'reason') ?? null,
        },
        timeout,
        true,
      ),
    )
  },
  sync: async (v: Values, json: boolean, timeout: number) => {
    const tunnel = str(v, 'tunnel')
    done(
      json,
      await ask(
        epSubject(v, 'sync'),
        {
          type: 'SyncSessions',
          v: 1,
          endpointId: ep(v),
          localTunnelId: tunnel === undefined ? null : idOf(tunnel, '--tunnel'),
        },
        timeout,
        true,
      ),
    )
  },
  drain: async (v: Values, json: boolean, timeout: number) =>
    done(
      json,
      await ask(epSubject(v, 'drain'), { type: 'DrainEndpoint', v: 1, endpointId: ep(v) }, timeout, true),
    ),
  release: async (v: Values, json: boolean, timeout: number) =>
    done(
      json,
      await ask(epSubject(v, 'release'), { type: 'ReleaseEndpoint', v: 1, endpointId: ep(v) }, timeout, true),
    ),
  takeover: async (v: Values, json: boolean, timeout: number) =>
    done(
      json,
      await ask(
        `l2tp.node.${need(str(v, 'node'), '--node')}.takeover`,
        { type: 'TakeOverEndpoint', v: 1, endpointId: ep(v) },
        timeout,
        true,
      ),
    ),
}

const commands: Record<string, (v: Values, json: boolean, timeout: number) => Promise<void>> = {
  ...nodeCommands,
  endpoints: async (_v, json, timeout) => {
    const list = (await ask('l2tp.registry.endpoints', { type: 'ListEndpoints', v: 1 }, timeout)) as Array<
      Record<string, unknown>
    >
    out(json, list, () =>
      [
        'ENDPOINT          OWNER      EPOCH  TUNNELS  SESSIONS  STATE',
        ...list.map(
          (e) =>
            `${String(e.endpointId).padEnd(18)}${String(e.owner ?? '-').padEnd(11)}${String(e.epoch).padEnd(7)}${String(e.tunnels).padEnd(9)}${String(e.sessions).padEnd(10)}${e.consistent ? 'ok' : 'INCONSISTENT'}`,
        ),
      ].join('\n'),
    )
  },
  state: async (v, json, timeout) => {
    const endpointId = need(str(v, 'endpoint'), '--endpoint')
    const asOf = str(v, 'as-of')
    const offset = str(v, 'offset')
    if (asOf !== undefined && offset !== undefined) throw new Usage('give --as-of or --offset, not both')
    const result =
      asOf === undefined && offset === undefined
        ? await ask('l2tp.registry.endpoint', { type: 'GetEndpoint', v: 1, endpointId }, timeout)
        : await ask(
            'l2tp.registry.as-of',
            {
              type: 'GetStateAsOf',
              v: 1,
              endpointId,
              asOf: asOf !== undefined ? { at: time(asOf, '--as-of') } : { offset },
            },
            timeout,
          )
    out(json, result, () => tableText(result as ReturnType<typeof toView>))
  },
  timeline: async (v, json, timeout) => {
    const spec = str(v, 'session') ?? str(v, 'tunnel')
    const parts = need(spec, '--tunnel X/TID or --session X/TID/SID').split('/')
    if (parts.length !== (str(v, 'session') !== undefined ? 3 : 2))
      throw new Usage('expected X/TID or X/TID/SID')
    const result = (await ask(
      'l2tp.registry.timeline',
      {
        type: 'GetTimeline',
        v: 1,
        endpointId: parts[0],
        localTunnelId: Number(parts[1]),
        localSessionId: parts[2] === undefined ? null : Number(parts[2]),
      },
      timeout,
    )) as Array<{ offset: string; event: Record<string, unknown> }>
    out(json, result, () =>
      result
        .map(
          (e) =>
            `${new Date(Number(e.event.at)).toISOString()}  @${e.offset}  e${e.event.epoch}#${e.event.seq}  ${e.event.type}${e.event.type === 'CommandApplied' ? ` ${e.event.command} by ${e.event.issuer}: ${e.event.result}` : ''}`,
        )
        .join('\n'),
    )
  },
  export: async (v) => {
    const to = time(need(str(v, 'to'), '--to'), '--to')
    const fromS = str(v, 'from')
    const deps = {
      kafka: makeKafka({ brokers: brokersFromEnv(), clientId: 'l2tpctl', ...kafkaSecurityFromEnv() }),
      names: topicsFromEnv(),
    }
    const lines = await exportRange(deps, fromS === undefined ? null : time(fromS, '--from'), to)()
    if (E.isLeft(lines)) throw new Failure(describeInfraError(lines.left))
    process.stdout.write(toNdjson(lines.right))
  },
  replay: async (v, json) => {
    const file = need(str(v, 'file'), '--file')
    const asOf = str(v, 'as-of')
    const text = (() => {
      try {
        return readFileSync(file, 'utf8')
      } catch (e) {
        throw new Failure(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`)
      }
    })()
    const r = replayNdjson(text, asOf === undefined ? null : { at: time(asOf, '--as-of') })
    const only = str(v, 'endpoint')
    const tables = [...r.fleet.values()]
      .filter((t) => only === undefined || t.endpointId === only)
      .map(toView)
    if (only !== undefined && tables.length === 0) throw new Failure(`no endpoint ${only} in ${file}`)
    out(json, { badLines: r.badLines, tables }, () =>
      [...tables.map(tableText), r.badLines > 0 ? `(${r.badLines} unreadable lines skipped)` : '']
        .join('\n\n')
        .trim(),
    )
  },
  diff: async (v, json) => {
    const from = time(need(str(v, 'from'), '--from'), '--from')
    const to = time(need(str(v, 'to'), '--to'), '--to')
    const deps = {
      kafka: makeKafka({ brokers: brokersFromEnv(), clientId: 'l2tpctl', ...kafkaSecurityFromEnv() }),
      names: topicsFromEnv(),
    }
    const lines = await exportRange(deps, from, to)()
    if (E.isLeft(lines)) throw new Failure(describeInfraError(lines.left))
    const text = toNdjson(lines.right)
    const a = replayNdjson(text, { at: from }).fleet
    const b = replayNdjson(text, { at: to }).fleet
    const only = str(v, 'endpoint')
    const ids = [...new Set([...a.keys(), ...b.keys()])]
      .filter((id) => only === undefined || id === only)
      .sort()
    const empty = (id: string): EndpointTable => emptyTable(unsafe.endpointId(id))
    const diffs = ids.map((id) => ({
      endpointId: id,
      ...diffTables(a.get(id) ?? empty(id), b.get(id) ?? empty(id)),
    }))
    out(json, diffs, () =>
      diffs
        .map(
          (d) =>
            `${d.endpointId}: tunnels +${d.tunnelsAdded.length} -${d.tunnelsRemoved.length} ~${d.tunnelsChanged.length}; sessions +${d.sessionsAdded.length} -${d.sessionsRemoved.length} ~${d.sessionsChanged.length}`,
        )
        .join('\n'),
    )
  },
}

const main = async (): Promise<number> => {
  const [cmd, ...rest] = process.argv.slice(2)
  if (cmd === undefined || cmd === '--help' || cmd === 'help') {
    console.log(HELP)
    return cmd === undefined ? 2 : 0
  }
  const run = commands[cmd]
  try {
    if (run === undefined) throw new Usage(`unknown command '${cmd}'`)
    const { values } = parseArgs({
      args: rest,
      options: {
        endpoint: { type: 'string' },
        'as-of': { type: 'string' },
        offset: { type: 'string' },
        tunnel: { type: 'string' },
        session: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        file: { type: 'string' },
        node: { type: 'string' },
        reason: { type: 'string' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean' },
      },
    })
    if (values.help) {
      console.log(HELP)
      return 0
    }
    const offset = values.offset
    if (offset !== undefined && !/^\d+$/.test(offset))
      throw new Usage(`--offset must be a whole number, got '${offset}'`)
    await run(values, values.json === true, Number(values.timeout ?? 10_000))
    return 0
  } catch (e) {
    const usage = e instanceof Usage || (e instanceof TypeError && 'code' in e)
    console.error(`l2tpctl: ${e instanceof Error ? e.message : String(e)}${usage ? ' (see --help)' : ''}`)
    return usage ? 2 : 1
  }
}

main().then((code) => process.exit(code))
