// Deterministic synthetic lifecycle histories of endpoints (seeded PRNG): tunnels and sessions
// opened and closed, recoveries, audit events. Used by property tests, integration tests and
// benchmarks. Every history is valid: seq rises by one, sessions live in open tunnels.
import type { L2tpEvent } from '../../contracts/index.js'

export const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface HistoryOptions {
  readonly endpointId: string
  readonly nodeId?: string
  readonly epoch?: number
  readonly events: number
  readonly seed?: number
  readonly maxTunnels?: number
  readonly maxSessionsPerTunnel?: number
  /** Milliseconds between events (the `at` clock starts at `startAt`). */
  readonly stepMs?: number
  readonly startAt?: number
}

/** Yields `events` events for one endpoint, starting with EndpointActivated at seq 1. */
export function* history(o: HistoryOptions): Generator<L2tpEvent> {
  const rnd = mulberry32(o.seed ?? 1)
  const pick = (n: number) => Math.floor(rnd() * n)
  const nodeId = o.nodeId ?? 'node-1'
  const epoch = o.epoch ?? 1
  const maxTunnels = o.maxTunnels ?? 64
  const maxSessions = o.maxSessionsPerTunnel ?? 32
  const tunnels = new Map<number, Set<number>>()
  let seq = 0
  let at = o.startAt ?? 1_700_000_000_000
  let nextTunnel = 1
  let nextSession = 1
  let serial = 1
  const env = () => {
    seq++
    at += o.stepMs ?? 1
    return { endpointId: o.endpointId, epoch, seq, at, nodeId }
  }
  const pickTunnel = (): number | undefined => [...tunnels.keys()][pick(tunnels.size)]
  for (let i = 0; i < o.events; i++) {
    if (i === 0) {
      yield endpointActivated(env())
      continue
    }
    const r = rnd()
    const tid = pickTunnel()
    if (tid === undefined || (r < 0.1 && tunnels.size < maxTunnels)) {
      const id = nextTunnel
      nextTunnel = (nextTunnel % 65535) + 1
      if (tunnels.has(id)) continue
      tunnels.set(id, new Set())
      yield tunnelEstablished(env(), id, pick(65535) + 1)
      continue
    }
    const sessions = tunnels.get(tid) as Set<number>
    if (r < 0.13) {
      tunnels.delete(tid)
      yield {
        type: 'TunnelClosed',
        v: 1,
        ...env(),
        localTunnelId: tid,
        resultCode: 1,
        errorCode: null,
        message: null,
        closedBy: 'peer',
      } as L2tpEvent
    } else if (r < 0.7 && sessions.size < maxSessions) {
      const sid = nextSession
      nextSession = (nextSession % 65535) + 1
      if (sessions.has(sid)) continue
      sessions.add(sid)
      yield sessionEstablished(env(), tid, sid, serial++)
    } else if (r < 0.95 && sessions.size > 0) {
      const sid = [...sessions][pick(sessions.size)] as number
      sessions.delete(sid)
      yield sessionClosed(env(), tid, sid)
    } else if (r < 0.97 && i + 1 < o.events) {
      yield {
        type: 'TunnelRecoveryStarted',
        v: 1,
        ...env(),
        localTunnelId: tid,
        recoveryTunnelId: null,
      } as L2tpEvent
      yield {
        type: 'TunnelRecovered',
        v: 1,
        ...env(),
        localTunnelId: tid,
        recoveryTunnelId: 1 + pick(65535),
        suggestedNs: pick(65536),
        suggestedNr: pick(65536),
        sessionsKept: sessions.size,
        sessionsCleared: 0,
        durationMs: pick(500),
      } as L2tpEvent
      i++
    } else {
      yield {
        type: 'CommandApplied',
        v: 1,
        ...env(),
        command: 'CloseTunnel',
        subject: 'l2tp.ep.x.close-tunnel',
        issuer: 'operator',
        result: 'rejected',
        detail: 'test',
        localTunnelId: tid,
        localSessionId: null,
      } as L2tpEvent
    }
  }
}

type Env = { endpointId: string; epoch: number; seq: number; at: number; nodeId: string }

/** The endpoint's first event: activated at 127.0.0.2:1701 as LNS, host name = endpoint id. */
export const endpointActivated = (env: Env): L2tpEvent =>
  ({
    type: 'EndpointActivated',
    v: 1,
    ...env,
    address: { host: '127.0.0.2', port: 1701 },
    role: 'LNS',
    hostName: env.endpointId,
  }) as L2tpEvent

export const tunnelEstablished = (env: Env, localTunnelId: number, remoteTunnelId: number): L2tpEvent =>
  ({
    type: 'TunnelEstablished',
    v: 1,
    ...env,
    localTunnelId,
    remoteTunnelId,
    local: { host: '127.0.0.2', port: 1701 },
    peer: { host: '127.0.0.3', port: 1701 },
    role: 'LNS',
    originator: 'peer',
    localHostName: env.endpointId,
    peerHostName: 'lac-sim',
    peerVendorName: 'l2tp-registry',
    peerFirmwareRevision: 1,
    peerFraming: { sync: true, async: true },
    peerBearer: { digital: true, analog: false },
    localReceiveWindow: 16,
    peerReceiveWindow: 8,
    localFailover: { control: true, data: true, recoveryTimeMs: 5000 },
    peerFailover: { control: true, data: false, recoveryTimeMs: 5000 },
    authenticated: true,
    secretRef: 'default',
  }) as L2tpEvent

export const sessionEstablished = (
  env: Env,
  localTunnelId: number,
  localSessionId: number,
  callSerial: number,
): L2tpEvent =>
  ({
    type: 'SessionEstablished',
    v: 2,
    ...env,
    localTunnelId,
    localSessionId,
    remoteSessionId: ((localSessionId * 7) % 65535) + 1,
    callSerial,
    direction: 'incoming',
    framing: 'sync',
    bearer: null,
    txConnectSpeed: 100_000_000,
    rxConnectSpeed: null,
    callingNumber: null,
    calledNumber: null,
    physicalChannelId: null,
    sequencing: false,
  }) as L2tpEvent

export const sessionClosed = (env: Env, localTunnelId: number, localSessionId: number): L2tpEvent =>
  ({
    type: 'SessionClosed',
    v: 1,
    ...env,
    localTunnelId,
    localSessionId,
    resultCode: 3,
    errorCode: null,
    message: null,
    q931: null,
    closedBy: 'peer',
  }) as L2tpEvent
