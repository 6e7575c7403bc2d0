// nats-server for dev/test: Debian's binary, the project's config (JetStream, role users),
// its own port. Readiness = a client of each kind connects and a ping (flush) round-trips.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'nats'
import { type InfraConfig, infraDir, natsUsers } from './config.js'
import type { StartResult } from './kafka.js'
import { alive, portOpen, readPid, run, sleep, startDetached, stopPid, tail, which } from './proc.js'

export const natsPaths = (c: InfraConfig) => ({
  store: join(c.dataDir, 'nats'),
  log: join(c.dataDir, 'nats.log'),
  pid: join(c.runDir, 'nats.pid'),
  conf: join(infraDir, 'nats', 'nats.conf'),
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

/** True when our nats-server answers with the project's users (not some other server). */
export const natsAnswers = async (c: InfraConfig): Promise<boolean> => {
  if (!(await portOpen(c.natsPort))) return false
  try {
    const nc = await connect({
      servers: `127.0.0.1:${c.natsPort}`,
      ...natsUsers.operator,
      timeout: 2000,
      reconnect: false,
    })
    await nc.flush()
    const jsm = await nc.jetstreamManager()
    await jsm.getAccountInfo()
    await nc.close()
    return true
  } catch {
    return false
  }
}

export const natsUp = async (c: InfraConfig): Promise<StartResult> => {
  const p = natsPaths(c)
  if (await natsAnswers(c)) return 'reused'
  const old = readPid(p.pid)
  if (old !== null && alive(old)) await stopPid(old, p.pid)
  if (await portOpen(c.natsPort)) throw new Error(`port ${c.natsPort} is taken by a server that is not ours`)
  const bin = natsBinary()
  mkdirSync(p.store, { recursive: true })
  const args = ['-c', p.conf, '-a', '127.0.0.1', '-p', String(c.natsPort), '-m', String(c.natsMonitorPort)]
  const pid = startDetached(bin, [...args, '-sd', p.store, '-l', p.log], p.log, p.pid)
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
