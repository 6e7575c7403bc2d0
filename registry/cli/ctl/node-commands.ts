// l2tpctl commands answered by the node that serves an endpoint (DESIGN.md §6); the listings are
// paged (contracts/paging.ts); the commands that change state are audited under the NATS user.
import {
  CommandResult,
  issuedSubject,
  NodeStatus,
  Page,
  REASON_MAX,
  SessionItem,
  TunnelItem,
  TunnelState,
} from '../../../contracts/index.js'
import { natsFromEnv } from '../env.js'
import { ask, type Command, type Ctx, idOf, need, pages, str, Usage, type Values } from './context.js'
import { col } from './output.js'

const ep = (v: Values) => need(str(v, 'endpoint'), '--endpoint')
export const epSubject = (v: Values, what: string) => `l2tp.ep.${ep(v)}.${what}`

/** --peer, --peer-host, --state (and --tunnel unless the listing takes it apart) as a TunnelFilter. */
export const tunnelFilter = (v: Values, withTunnel: boolean): Readonly<Record<string, string | number>> => {
  const tunnel = str(v, 'tunnel')
  const peer = str(v, 'peer')
  const host = str(v, 'peer-host')
  const state = str(v, 'state')
  if (state !== undefined && !TunnelState.is(state))
    throw new Usage(`--state must be established or recovering, got '${state}'`)
  return {
    ...(withTunnel && tunnel !== undefined ? { localTunnelId: idOf(tunnel, '--tunnel') } : {}),
    ...(peer === undefined ? {} : { peer }),
    ...(host === undefined ? {} : { peerHostName: host }),
    ...(state === undefined ? {} : { state }),
  }
}

/**
 * Sends a command that changes state and prints its result: its fields as `key: value` lines, or
 * JSON. It goes to the subject plus the connecting user's name: the server allows each user only
 * its own name there, so the node audits the authenticated identity (docs/decisions.md).
 */
export const done = async (c: Ctx, subject: string, body: unknown): Promise<void> => {
  const r = await ask(c, issuedSubject(subject, natsFromEnv('operator').user), body, CommandResult)
  await c.out.one(r, () =>
    Object.entries(r)
      .map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
      .join('\n'),
  )
}

/** A node's drain state of an endpoint: `yes`, or `no (drain, outbox)`; `-` from an older node. */
const refusingText = (refusing: readonly string[] | undefined): string =>
  refusing === undefined ? '-' : refusing.length === 0 ? 'yes' : `no (${refusing.join(', ')})`

const status: Command = async (c) => {
  const node = need(str(c.values, 'node'), '--node')
  const r = await ask(c, `l2tp.node.${node}.status`, { type: 'GetNodeStatus', v: 1 }, NodeStatus)
  await c.out.one(r, () =>
    [
      `node ${r.nodeId}  up ${Math.round(r.uptimeMs / 1000)} s  standby for: ${r.standbyFor.join(', ') || '-'}`,
      'ENDPOINT          ROLE  EPOCH  TUNNELS  SESSIONS  ACCEPTING',
      ...r.endpoints.map(
        (e) =>
          `${col(e.endpointId, 18)}${col(e.role, 6)}${col(e.epoch, 7)}${col(e.tunnels, 9)}${col(e.sessions, 10)}${refusingText(e.refusing)}`,
      ),
    ].join('\n'),
  )
}

const tunnels: Command = async (c) => {
  const list = c.out.listing<TunnelItem>({
    header: 'TUNNEL  REMOTE  PEER                   HOST              SESSIONS',
    row: (t) =>
      `${col(t.localTunnelId, 8)}${col(t.remoteTunnelId, 8)}${col(`${t.peer.host}:${t.peer.port}`, 23)}${col(t.peerHostName.slice(0, 16), 18)}${t.sessions}`,
  })
  const body = { type: 'ListTunnels', v: 1, endpointId: ep(c.values), filter: tunnelFilter(c.values, true) }
  for await (const p of pages(c, epSubject(c.values, 'tunnels'), body, Page(TunnelItem)))
    await list.page(p.items)
  await list.end()
}

const sessions: Command = async (c) => {
  const tunnel = str(c.values, 'tunnel')
  const list = c.out.listing<SessionItem>({
    header: 'TUNNEL  SESSION  REMOTE  DIRECTION  SEQ',
    row: (x) =>
      `${col(x.localTunnelId, 8)}${col(x.localSessionId, 9)}${col(x.remoteSessionId, 8)}${col(x.direction, 11)}${x.sequencing ? 'yes' : 'no'}`,
  })
  const body = {
    type: 'ListSessions',
    v: 1,
    endpointId: ep(c.values),
    localTunnelId: tunnel === undefined ? null : idOf(tunnel, '--tunnel'),
    filter: tunnelFilter(c.values, false),
  }
  for await (const p of pages(c, epSubject(c.values, 'sessions'), body, Page(SessionItem)))
    await list.page(p.items)
  await list.end()
}

/** --reason: it goes to the peer in one Result Code AVP, so it is short. */
const reasonOf = (v: Values): string | null => {
  const r = str(v, 'reason')
  if (r !== undefined && r.length > REASON_MAX)
    throw new Usage(`--reason must be at most ${REASON_MAX} characters, got ${r.length}`)
  return r ?? null
}

const sessionOf = (v: Values) => {
  const parts = need(str(v, 'session'), '--session TID/SID').split('/')
  if (parts.length !== 2) throw new Usage('--session must be TID/SID')
  return { localTunnelId: idOf(parts[0] ?? '', 'TID'), localSessionId: idOf(parts[1] ?? '', 'SID') }
}

/** Commands answered by the node that serves the endpoint (DESIGN.md §6). */
export const nodeCommands: Readonly<Record<string, Command>> = {
  node: status,
  tunnels,
  sessions,
  'close-tunnel': (c) =>
    done(c, epSubject(c.values, 'close-tunnel'), {
      type: 'CloseTunnel',
      v: 1,
      endpointId: ep(c.values),
      localTunnelId: idOf(need(str(c.values, 'tunnel'), '--tunnel'), '--tunnel'),
      reason: reasonOf(c.values),
    }),
  'close-session': (c) =>
    done(c, epSubject(c.values, 'close-session'), {
      type: 'CloseSession',
      v: 1,
      endpointId: ep(c.values),
      ...sessionOf(c.values),
      reason: reasonOf(c.values),
    }),
  sync: (c) => {
    const tunnel = str(c.values, 'tunnel')
    return done(c, epSubject(c.values, 'sync'), {
      type: 'SyncSessions',
      v: 1,
      endpointId: ep(c.values),
      localTunnelId: tunnel === undefined ? null : idOf(tunnel, '--tunnel'),
    })
  },
  drain: (c) =>
    done(c, epSubject(c.values, 'drain'), {
      type: 'DrainEndpoint',
      v: 1,
      endpointId: ep(c.values),
    }),
  undrain: (c) =>
    done(c, epSubject(c.values, 'undrain'), {
      type: 'UndrainEndpoint',
      v: 1,
      endpointId: ep(c.values),
    }),
  release: (c) =>
    done(c, epSubject(c.values, 'release'), {
      type: 'ReleaseEndpoint',
      v: 1,
      endpointId: ep(c.values),
    }),
  takeover: (c) =>
    done(c, `l2tp.node.${need(str(c.values, 'node'), '--node')}.takeover`, {
      type: 'TakeOverEndpoint',
      v: 1,
      endpointId: ep(c.values),
    }),
}
