// nats-server for dev/test: Debian's binary, the config generated from the identity store
// (JetStream, one user per identity), its own ports; one server, or 3 routed on loopback with
// --cluster. Readiness = the admin logs in on every server and JetStream answers; then the admin
// creates the lease bucket (clients only bind to it), with 3 replicas on the cluster. Shell.
import { mkdirSync } from 'node:fs'
import { connect, type NatsConnection } from 'nats'
import { LEASE_BUCKET } from '../contracts/subjects.js'
import type { InfraConfig, NatsServer } from './config.js'
import {
  ensureStore,
  identityPaths,
  natsServerPaths,
  reloadNats,
  serverPid,
  storedIdentity,
} from './identities.js'
import type { StartResult } from './kafka.js'
import { alive, portOpen, run, sleep, startDetached, stopPid, tail, which } from './proc.js'

/** The first server's files (single-node: the only ones) and the store. */
export const natsPaths = (c: InfraConfig) => {
  const p = identityPaths(c)
  return { store: p.jetstream, log: p.log, pid: p.pid, conf: p.conf }
}

const NATS_BIN_CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']

export const natsBinary = (): string => {
  const found = NATS_BIN_CANDIDATES.find((p) => which(p))
  if (found !== undefined) return found
  if (which('nats-server')) return 'nats-server'
  if (process.getuid?.() === 0 && which('apt-get')) {
    console.log('infra: installing nats-server from Debian…')
    run('apt-get', ['install', '-y', '-q', 'nats-server'])
    return natsBinary()
  }
  throw new Error('nats-server is missing: apt-get install -y nats-server')
}

/**
 * A connection as infra's admin identity (JetStream API), or null when it cannot log in: to one
 * server when named, else to any of them.
 */
export const natsAdmin = async (c: InfraConfig, only?: NatsServer): Promise<NatsConnection | null> => {
  const admin = storedIdentity(c, 'admin')
  if (admin === null) return null
  const servers = only === undefined ? c.natsServers : [only]
  const open = await Promise.all(servers.map((s) => portOpen(s.port)))
  const reachable = servers.filter((_, i) => open[i] === true)
  if (reachable.length === 0) return null
  try {
    return await connect({
      servers: reachable.map((s) => `127.0.0.1:${s.port}`),
      user: admin.name,
      pass: admin.password,
      name: 'infra-admin',
      timeout: 2000,
      reconnect: false,
    })
  } catch {
    return null
  }
}

/** True when this server of ours answers our admin user and JetStream (not some other server). */
export const natsServerAnswers = async (c: InfraConfig, s: NatsServer): Promise<boolean> => {
  const nc = await natsAdmin(c, s)
  if (nc === null) return false
  try {
    await nc.flush()
    const jsm = await nc.jetstreamManager({ timeout: 3000 })
    await jsm.getAccountInfo()
    return true
  } catch {
    return false
  } finally {
    await nc.close()
  }
}

/** True when every server answers (single-node: the one). */
export const natsAnswers = async (c: InfraConfig): Promise<boolean> =>
  (await Promise.all(c.natsServers.map((s) => natsServerAnswers(c, s)))).every((x) => x)

/**
 * Creates the lease bucket (DESIGN.md §5) if it is missing: history 1, direct get allowed (so
 * permissions can name the key a client reads), one replica per server (3 on the cluster). Only
 * infra's admin may; clients bind to it.
 */
export const ensureLeaseBucket = async (c: InfraConfig): Promise<void> => {
  const nc = await natsAdmin(c)
  if (nc === null) throw new Error('cannot log in to nats-server as admin')
  try {
    await nc
      .jetstream()
      .views.kv(LEASE_BUCKET, { history: 1, allow_direct: true, replicas: c.natsServers.length })
  } finally {
    await nc.close()
  }
}

/** The lease bucket's stream: replicas, its leader and the replicas' state (infra/status). */
export const leaseBucketInfo = async (
  c: InfraConfig,
): Promise<{ replicas: number; leader: string | null; current: string[] } | null> => {
  const nc = await natsAdmin(c)
  if (nc === null) return null
  try {
    const jsm = await nc.jetstreamManager({ timeout: 3000 })
    const si = await jsm.streams.info(`KV_${LEASE_BUCKET}`)
    return {
      replicas: si.config.num_replicas,
      leader: si.cluster?.leader ?? null,
      current: (si.cluster?.replicas ?? []).filter((r) => r.current).map((r) => r.name),
    }
  } catch {
    return null
  } finally {
    await nc.close()
  }
}

export const natsUp = async (c: InfraConfig): Promise<StartResult> => {
  const r = await natsStart(c)
  await waitLeaseBucket(c)
  return r
}

/** A fresh JetStream cluster elects its meta leader a moment after the servers answer. */
const waitLeaseBucket = async (c: InfraConfig): Promise<void> => {
  const until = Date.now() + 60_000
  for (;;) {
    try {
      await ensureLeaseBucket(c)
      return
    } catch (e) {
      if (Date.now() > until) throw e
      await sleep(500)
    }
  }
}

/** Starts one server of ours (its port must be free); does not wait. Returns its pid. */
export const natsStartServer = async (c: InfraConfig, s: NatsServer): Promise<number> => {
  const p = natsServerPaths(c, s)
  const old = serverPid(c, s)
  if (old !== null) await stopPid(old, p.pid)
  if (await portOpen(s.port)) throw new Error(`port ${s.port} is taken by a server that is not ours`)
  mkdirSync(p.jetstream, { recursive: true })
  const args = ['-c', p.conf, '-a', '127.0.0.1', '-p', String(s.port), '-m', String(s.monitorPort)]
  return startDetached(natsBinary(), [...args, '-l', p.log], p.log, p.pid)
}

/** Writes the configs from the identity store; reloads servers of ours or starts the missing ones. */
const natsStart = async (c: InfraConfig): Promise<StartResult> => {
  await ensureStore(c)
  const answering = await Promise.all(c.natsServers.map((s) => natsServerAnswers(c, s)))
  const missing = c.natsServers.filter((_, i) => answering[i] !== true)
  if (missing.length < c.natsServers.length) await reloadNats(c).catch(() => undefined) // reused and not started by us: keep its config
  if (missing.length === 0) return 'reused'
  const started = new Map<NatsServer, number>()
  for (const s of missing) started.set(s, await natsStartServer(c, s))
  const until = Date.now() + 60_000
  while (Date.now() < until && [...started.values()].every((pid) => alive(pid))) {
    if (await natsAnswers(c)) return 'started'
    await sleep(200)
  }
  for (const [s, pid] of started) await stopPid(pid, natsServerPaths(c, s).pid)
  throw new Error(
    `nats-server did not come up on ${missing.map((s) => `127.0.0.1:${s.port}`).join(', ')}; last log lines:\n${missing
      .map((s) => tail(natsServerPaths(c, s).log, 15))
      .join('\n')}`,
  )
}

export const natsDown = async (c: InfraConfig): Promise<boolean> => {
  const running = c.natsServers.flatMap((s) => {
    const pid = serverPid(c, s)
    return pid === null ? [] : [{ s, pid }]
  })
  if (running.length === 0) return false
  await Promise.all(running.map(({ s, pid }) => stopPid(pid, natsServerPaths(c, s).pid)))
  return true
}
