// Two or three real `l2tp-node --ha --publish` processes owning one endpoint, our LAC simulator
// holding tunnels toward it while sessions open and close, and what both sides saw: the LAC's
// established sessions (lost = went down without the LAC closing them), the lease's owner, and
// the log folded by the registry's own code. Shared by the cluster e2e test and the drills.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type L2tpEvent, type TopicNames, unsafe } from '../../contracts/index.js'
import type { Effect } from '../../nodes/engine/types.js'
import { decodeLease } from '../../nodes/shell/lease.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { foldHistory, type KvReader, openKvReader, readEndpointHistory } from '../../registry/shell/index.js'
import { eventLogDeps, natsAs, rightOrThrow } from './brokers.js'
import { nodeProcessEnv } from './identity.js'
import { engineConfig } from './sim.js'

export const FAILOVER = { control: true, data: true, recoveryTimeMs: 60_000 }
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface HaNodeSpec {
  readonly dir: string
  readonly nodeId: string
  readonly endpointId: string
  readonly host: string
  readonly names: TopicNames
  readonly flags?: readonly string[]
  /** Extra environment (a NATS_URL or KAFKA_BROKERS through a drill's proxy). */
  readonly env?: Record<string, string>
  /** Extra config keys (lease, outbox). */
  readonly config?: Record<string, unknown>
  /** Extra keys of the endpoint's config (overload limits). */
  readonly endpoint?: Record<string, unknown>
  /**
   * Record every UDP send of the process (strace --seccomp-bpf, sendmsg/sendmmsg/sendto only, so
   * the node runs at nearly full speed) into this file: who sent which datagram, and when.
   */
  readonly traceSends?: string
}

/** What a node process said about the endpoint, from its JSON log lines (time of reading). */
export interface NodeMark {
  readonly at: number
  readonly msg: 'serving endpoint' | 'stopped serving endpoint' | 'released endpoint'
  readonly epoch: number | null
  readonly why: string | null
}

export interface HaNode {
  readonly spec: HaNodeSpec
  proc: ChildProcess
  /** The node's own pid (under strace, the traced child's), for signals. */
  readonly pid: () => number
  readonly marks: NodeMark[]
  readonly alive: () => boolean
  readonly exited: () => Promise<void>
}

const markOf = (line: string): NodeMark | null => {
  if (!line.includes('endpoint')) return null
  try {
    const j: unknown = JSON.parse(line)
    if (typeof j !== 'object' || j === null || !('msg' in j)) return null
    const msg = String(j.msg)
    const kind = msg.startsWith('released endpoint')
      ? 'released endpoint'
      : msg === 'serving endpoint' || msg === 'stopped serving endpoint'
        ? msg
        : null
    if (kind === null) return null
    return {
      at: Date.now(),
      msg: kind,
      epoch: 'epoch' in j && typeof j.epoch === 'number' ? j.epoch : null,
      why: 'why' in j && typeof j.why === 'string' ? j.why : null,
    }
  } catch {
    return null
  }
}

/** Spawns `l2tp-node --ha --publish` (info log on stdout, parsed for the endpoint's marks). */
export const startHaNode = async (s: HaNodeSpec): Promise<HaNode> => {
  const file = join(s.dir, `${s.nodeId}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      nodeId: s.nodeId,
      endpoints: [
        {
          id: s.endpointId,
          role: 'LNS',
          address: { host: s.host, port: 1701 },
          failover: FAILOVER,
          hideAvps: false,
          ...(s.endpoint ?? {}),
        },
      ],
      ...(s.config ?? {}),
    }),
  )
  const env = {
    ...process.env,
    ...(await nodeProcessEnv(s.nodeId, [s.endpointId])),
    L2TP_TOPIC_PREFIX: s.names.events.replace('l2tp.events', ''),
    ...(s.env ?? {}),
  }
  const marks: NodeMark[] = []
  const args = [
    '--import',
    'tsx',
    'nodes/cli/l2tp-node.ts',
    '--config',
    file,
    '--publish',
    '--ha',
    ...(s.flags ?? []),
  ]
  const proc =
    s.traceSends === undefined
      ? spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(
          'strace',
          [
            ...[
              '-f',
              '--seccomp-bpf',
              '-qq',
              '-ttt',
              '-e',
              'trace=sendmsg,sendmmsg,sendto',
              '-e',
              'signal=none',
            ],
            ...['-o', s.traceSends, '--', process.execPath, ...args],
          ],
          { env, stdio: ['ignore', 'pipe', 'inherit'] },
        )
  let buf = ''
  proc.stdout?.on('data', (b: Buffer) => {
    buf += b.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const m = markOf(buf.slice(0, i))
      buf = buf.slice(i + 1)
      if (m !== null) marks.push(m)
    }
  })
  const exit = new Promise<void>((r) => proc.once('exit', () => r()))
  let nodePid: number | null = s.traceSends === undefined ? (proc.pid ?? null) : null
  const pid = (): number => {
    if (nodePid !== null) return nodePid
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/)
    const first = Number(children[0])
    if (!Number.isInteger(first) || first <= 0) throw new Error('the traced node has not started')
    nodePid = first
    return first
  }
  return {
    spec: s,
    proc,
    pid,
    marks,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    exited: () => exit,
  }
}

/** Is this node serving the endpoint, by its last mark? */
export const serving = (n: HaNode): boolean => n.alive() && n.marks.at(-1)?.msg === 'serving endpoint'

/** A signal to the node itself (never to strace: a tracee left by strace fails its syscalls). */
export const signalNode = (n: HaNode, signal: NodeJS.Signals): void => {
  try {
    process.kill(n.pid(), signal)
  } catch {
    // already gone
  }
}

export const killNode = async (n: HaNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
  if (!n.alive()) return
  signalNode(n, 'SIGCONT')
  signalNode(n, signal)
  await n.exited()
}

/** UDP sends to `to` recorded by traceSends: their times (ms since the epoch). */
export const tracedSends = (file: string, to: string): number[] => {
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const needle = `inet_addr("${to}")`
  const out: number[] = []
  for (const line of text.split('\n')) {
    if (!line.includes(needle) || line.includes('= -1')) continue
    const at = Number(line.trim().split(/\s+/)[1])
    // sendmmsg carries several datagrams in one call.
    const n = line.split(needle).length - 1
    for (let i = 0; i < n; i++) out.push(at * 1000)
  }
  return out
}

/** The LAC: established sessions by its own ids (tunnel/session) and by the LNS's. */
export interface Lac {
  readonly ep: UdpEndpoint
  readonly events: L2tpEvent[]
  readonly counts: {
    tunnelsUp: number
    sessionsUp: number
    recovered: number
    lost: number
    closedByUs: number
  }
  /** Established sessions (LAC ids) that went down without the LAC asking: the loss. */
  readonly lostKeys: string[]
  readonly established: Set<string>
  /** The established sessions keyed by the LNS's ids, as the log names them. */
  readonly peerView: () => Set<string>
  readonly close: (tunnelId: number, sessionId: number) => void
  readonly stop: () => Promise<void>
}

export const startLac = async (host: string): Promise<Lac> => {
  const events: L2tpEvent[] = []
  const counts = { tunnelsUp: 0, sessionsUp: 0, recovered: 0, lost: 0, closedByUs: 0 }
  const established = new Set<string>()
  const closing = new Set<string>()
  const lostKeys: string[] = []
  const down = (key: string) => {
    if (!established.delete(key)) return
    if (closing.delete(key)) return
    counts.lost++
    lostKeys.push(key)
  }
  let ep: UdpEndpoint | null = null
  const tunnelSessions = (tunnelId: number): string[] =>
    [...established].filter((k) => k.startsWith(`${tunnelId}/`))
  ep = new UdpEndpoint(
    engineConfig({ role: 'LAC', hostName: `lac-${host}`, failover: FAILOVER }),
    { host, port: unsafe.port(1701) },
    {
      endpointId: unsafe.endpointId(`lac-${host.replaceAll('.', '-')}`),
      nodeId: unsafe.nodeId('sim'),
      epoch: 1,
    },
    {
      onEvent: (e) => {
        if (events.length < 200_000) events.push(e)
        if (e.type === 'TunnelRecovered') counts.recovered++
      },
      onEffect: (f: Effect) => {
        if (f._tag === 'TunnelUp') counts.tunnelsUp++
        if (f._tag === 'SessionUp') {
          counts.sessionsUp++
          established.add(`${f.tunnelId}/${f.sessionId}`)
        }
        if (f._tag === 'SessionDown') down(`${f.tunnelId}/${f.sessionId}`)
        if (f._tag === 'TunnelDown') for (const k of tunnelSessions(f.tunnelId)) down(k)
      },
    },
  )
  await ep.start()
  const lac = ep
  return {
    ep: lac,
    events,
    counts,
    lostKeys,
    established,
    peerView: () =>
      new Set(
        [...lac.engine.tunnels.values()].flatMap((t) =>
          [...t.sessions.values()]
            .filter((x) => x.state === 'established')
            .map((x) => `${t.peerAssignedId}/${x.peerId}`),
        ),
      ),
    close: (tunnelId, sessionId) => {
      const key = `${tunnelId}/${sessionId}`
      if (!established.has(key)) return
      closing.add(key)
      counts.closedByUs++
      lac.input({ _tag: 'CloseSession', tunnelId, sessionId, resultCode: 3, reason: 'churn' })
    },
    stop: () => lac.stop(),
  }
}

/** Opens `tunnels` x `sessions` toward `lns` in batches; resolves once all are up (or throws). */
export const hold = async (lac: Lac, lns: string, tunnels: number, sessions: number, timeoutMs = 180_000) => {
  const peer = { host: lns, port: unsafe.port(1701) }
  const until = Date.now() + timeoutMs
  const t0 = lac.counts.tunnelsUp
  for (let i = 0; i < tunnels; i += 100) {
    const n = Math.min(tunnels, i + 100)
    for (let k = i; k < n; k++) lac.ep.input({ _tag: 'OpenTunnel', peer })
    while (lac.counts.tunnelsUp - t0 < n) {
      if (Date.now() > until)
        throw new Error(`only ${lac.counts.tunnelsUp - t0} of ${tunnels} tunnels came up`)
      await sleep(20)
    }
  }
  const s0 = lac.counts.sessionsUp
  const ids = [...lac.ep.engine.tunnels.values()]
    .filter((t) => t.state === 'established')
    .map((t) => t.localId)
  for (let i = 0; i < ids.length; i += 250) {
    const batch = ids.slice(i, i + 250)
    for (const id of batch)
      for (let s = 0; s < sessions; s++)
        lac.ep.input({ _tag: 'OpenSession', tunnelId: id, direction: 'incoming' })
    while (lac.counts.sessionsUp - s0 < (i + batch.length) * sessions) {
      if (Date.now() > until) throw new Error(`only ${lac.counts.sessionsUp - s0} sessions came up`)
      await sleep(20)
    }
  }
}

/**
 * Churn: every `everyMs` one session opens on a tunnel and (every other step) another closes,
 * until stopped; bounded by `maxSteps`. Returns the stop function, which resolves when it ended.
 */
export const churn = (lac: Lac, everyMs = 20, maxSteps = 1_000_000): (() => Promise<number>) => {
  let on = true
  let n = 0
  const loop = (async () => {
    while (on && n < maxSteps) {
      const tunnels = [...lac.ep.engine.tunnels.values()].filter((t) => t.state === 'established')
      const t = tunnels[n % Math.max(1, tunnels.length)]
      n++
      if (t !== undefined) {
        lac.ep.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
        const victim = [...t.sessions.values()].find((s) => s.state === 'established')
        if (victim !== undefined && n % 2 === 0) lac.close(t.localId, victim.localId)
      }
      await sleep(everyMs)
    }
  })()
  return async () => {
    on = false
    await loop
    return n
  }
}

/** The lease owner as the registry identity reads it (direct get). */
export const leaseReader = async (): Promise<{
  readonly owner: (endpointId: string) => Promise<{ node: string; epoch: number; released: boolean } | null>
  readonly close: () => Promise<void>
}> => {
  const nc = await natsAs('registry', 'drill-lease-reader')
  const kv: KvReader = rightOrThrow(await openKvReader(nc, 'l2tp_endpoints')())
  return {
    owner: async (endpointId) => {
      const r = await kv.get(endpointId)()
      if (r._tag === 'Left' || r.right === null) return null
      const v = decodeLease(r.right.value)
      return v === null ? null : { node: v.node, epoch: v.epoch, released: v.released }
    },
    close: () => nc.close(),
  }
}

/** The log of one endpoint, folded by the registry's code, and what it says about loss. */
export interface LogCheck {
  readonly records: number
  /** Records whose (epoch, seq) was already seen: applied twice if a folder did not skip them. */
  readonly duplicates: number
  /** Missing seqs inside an epoch (1..last): events that never reached the log. */
  readonly seqGaps: number
  readonly epochs: number[]
  /** Records of an epoch older than one already in the log before them: accepted from a replaced owner. */
  readonly staleEpochRecords: number
  readonly owner: string | null
  readonly consistent: boolean
  /** Established sessions by the LNS's ids. */
  readonly sessions: Set<string>
}

export const checkLog = async (names: TopicNames, endpointId: string): Promise<LogCheck> => {
  const h = rightOrThrow(await readEndpointHistory(eventLogDeps(names, 'drill-check'), endpointId)())
  const table = foldHistory(endpointId, h.events)
  const seen = new Map<number, Set<number>>()
  let duplicates = 0
  let staleEpochRecords = 0
  let newest = 0
  for (const { event } of h.events) {
    if (event.epoch < newest) staleEpochRecords++
    newest = Math.max(newest, event.epoch)
    const s = seen.get(event.epoch) ?? new Set<number>()
    if (s.has(event.seq)) duplicates++
    s.add(event.seq)
    seen.set(event.epoch, s)
  }
  let seqGaps = 0
  for (const s of seen.values()) seqGaps += Math.max(...s) - s.size
  return {
    records: h.events.length,
    duplicates,
    seqGaps,
    epochs: [...seen.keys()].sort((a, b) => a - b),
    staleEpochRecords,
    owner: table.owner,
    consistent: table.consistent,
    sessions: new Set(
      [...table.tunnels.values()].flatMap((t) =>
        [...t.sessions.values()].map((s) => `${t.localTunnelId}/${s.localSessionId}`),
      ),
    ),
  }
}

/** Sessions in one set and not the other, both ways. */
export const difference = (a: ReadonlySet<string>, b: ReadonlySet<string>): number =>
  [...a].filter((k) => !b.has(k)).length + [...b].filter((k) => !a.has(k)).length

/**
 * Waits until the log, folded, holds exactly the LAC's established sessions (the owner's outbox
 * flushed), up to `ms`; returns the last check and the remaining difference (0 when equal).
 */
export const settle = async (
  names: TopicNames,
  endpointId: string,
  lac: Lac,
  ms = 60_000,
): Promise<{ log: LogCheck; mismatch: number; onlyInLog: string[]; onlyAtLac: string[] }> => {
  const until = Date.now() + ms
  for (;;) {
    const log = await checkLog(names, endpointId)
    const lacView = lac.peerView()
    const mismatch = difference(log.sessions, lacView)
    if (mismatch === 0 || Date.now() > until) {
      // Which side holds what the other lacks (tunnel/session, the node's ids), a few of each.
      const onlyInLog = [...log.sessions].filter((k) => !lacView.has(k)).slice(0, 10)
      const onlyAtLac = [...lacView].filter((k) => !log.sessions.has(k)).slice(0, 10)
      return { log, mismatch, onlyInLog, onlyAtLac }
    }
    await sleep(500)
  }
}
