// nats-server for dev/test: Debian's binary, the config generated from the identity store
// (JetStream, one user per identity), its own port. Readiness = the admin logs in and JetStream
// answers; then the admin creates the lease bucket (clients only bind to it).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { LEASE_BUCKET } from '../contracts/subjects.js'
import type { InfraConfig } from './config.js'
import { ensureStore, identityPaths, reloadNats, storedIdentity } from './identities.js'
import type { StartResult } from './kafka.js'
import { alive, portOpen, readPid, run, sleep, startDetached, stopPid, tail, which } from './proc.js'

export const natsPaths = (c: InfraConfig) => ({
  store: join(c.dataDir, 'nats'),
  log: join(c.dataDir, 'nats.log'),
  pid: join(c.runDir, 'nats.pid'),
  conf: identityPaths(c).conf,
})

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

/** A connection as infra's admin identity (JetStream API), or null when it cannot log in. */
export const natsAdmin = async (c: InfraConfig): Promise<NatsConnection | null> => {
  const admin = storedIdentity(c, 'admin')
  if (admin === null || !(await portOpen(c.natsPort))) return null
  try {
    return await connect({
      servers: `127.0.0.1:${c.natsPort}`,
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

/** True when our nats-server answers with our admin user and JetStream (not some other server). */
export const natsAnswers = async (c: InfraConfig): Promise<boolean> => {
  const nc = await natsAdmin(c)
  if (nc === null) return false
  try {
    await nc.flush()
    const jsm = await nc.jetstreamManager()
    await jsm.getAccountInfo()
    return true
  } catch {
    return false
  } finally {
    await nc.close()
  }
}

/**
 * Creates the lease bucket (DESIGN.md §5) if it is missing: history 1, direct get allowed (so
 * permissions can name the key a client reads). Only infra's admin may; clients bind to it.
 */
export const ensureLeaseBucket = async (c: InfraConfig): Promise<void> => {
  const nc = await natsAdmin(c)
  if (nc === null) throw new Error('cannot log in to nats-server as admin')
  try {
    await nc.jetstream().views.kv(LEASE_BUCKET, { history: 1, allow_direct: true })
  } finally {
    await nc.close()
  }
}

export const natsUp = async (c: InfraConfig): Promise<StartResult> => {
  const r = await natsStart(c)
  await ensureLeaseBucket(c)
  return r
}

/** Writes the config from the identity store; reloads a server of ours or starts one. */
const natsStart = async (c: InfraConfig): Promise<StartResult> => {
  const p = natsPaths(c)
  await ensureStore(c)
  if (await natsAnswers(c)) {
    await reloadNats(c).catch(() => undefined) // reused and not started by us: keep its config
    return 'reused'
  }
  const old = readPid(p.pid)
  if (old !== null && alive(old)) await stopPid(old, p.pid)
  if (await portOpen(c.natsPort)) throw new Error(`port ${c.natsPort} is taken by a server that is not ours`)
  const bin = natsBinary()
  mkdirSync(p.store, { recursive: true })
  const args = ['-c', p.conf, '-a', '127.0.0.1', '-p', String(c.natsPort), '-m', String(c.natsMonitorPort)]
  const pid = startDetached(bin, [...args, '-l', p.log], p.log, p.pid)
  const until = Date.now() + 30_000
  while (Date.now() < until && alive(pid)) {
    if (await natsAnswers(c)) return 'started'
    await sleep(200)
  }
  await stopPid(pid, p.pid)
  throw new Error(`nats-server did not come up on 127.0.0.1:${c.natsPort}; last log lines:\n${tail(p.log)}`)
}

export const natsDown = async (c: InfraConfig): Promise<boolean> => {
  const p = natsPaths(c)
  const pid = readPid(p.pid)
  if (pid === null) return false
  await stopPid(pid, p.pid)
  return true
}
