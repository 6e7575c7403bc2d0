// The dev/test identity store (issue 9): one NATS user per identity, kept with a random password
// in <data>/nats/identities.json (mode 0600; dev and test only), and the server config generated
// from it. Granting an identity regenerates the config and, when our nats-server runs, reloads it
// (SIGHUP) and waits until the reload took and a login with the identity works. Shell.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, nkeyAuthenticator, nkeys } from 'nats'
import { type InfraConfig, infraDir, type NatsServer } from './config.js'
import {
  IDENTITY_NAME,
  type Identity,
  type IdentityKind,
  inboxPrefixOf,
  nodeUser,
  renderAuthorization,
} from './nats-auth.js'
import { alive, readPid, sleep, tail } from './proc.js'

/** Files of one nats-server; single-node keeps the historical names (nats.conf, nats.pid, ...). */
export const natsServerPaths = (c: InfraConfig, s: NatsServer) =>
  c.cluster
    ? {
        conf: join(c.dataDir, 'nats', `${s.name}.conf`),
        pid: join(c.runDir, `${s.name}.pid`),
        log: join(c.dataDir, `${s.name}.log`),
        jetstream: join(c.dataDir, 'nats', `js-${s.id}`),
      }
    : {
        conf: join(c.dataDir, 'nats', 'nats.conf'),
        pid: join(c.runDir, 'nats.pid'),
        log: join(c.dataDir, 'nats.log'),
        jetstream: join(c.dataDir, 'nats'),
      }

const firstServer = (c: InfraConfig): NatsServer => {
  const s = c.natsServers[0]
  if (s === undefined) throw new Error('no nats-server configured')
  return s
}

export const identityPaths = (c: InfraConfig) => ({
  store: join(c.dataDir, 'nats', 'identities.json'),
  lock: join(c.dataDir, 'nats', 'identities.lock'),
  template: join(infraDir, 'nats', 'nats.conf'),
  // The first server's files (single-node: the only ones).
  ...natsServerPaths(c, firstServer(c)),
})

/**
 * The cluster block of a clustered server: routes to the others on loopback. JetStream in a
 * cluster needs a unique server name; the lease bucket is then created with 3 replicas.
 */
const clusterBlock = (c: InfraConfig, s: NatsServer): string =>
  s.routePort === null
    ? ''
    : [
        `server_name: ${JSON.stringify(s.name)}`,
        'cluster: {',
        '  name: "l2tp"',
        `  listen: "127.0.0.1:${s.routePort}"`,
        // Clients use the servers they are given (NATS_URL) and are not told the others' client
        // URLs: a drill's per-node proxy then sees every connection of that node.
        '  no_advertise: true',
        `  routes: [${c.natsServers
          .filter((o) => o.id !== s.id && o.routePort !== null)
          .map((o) => JSON.stringify(`nats-route://127.0.0.1:${o.routePort}`))
          .join(', ')}]`,
        '}',
        '',
      ].join('\n')

type Store = Readonly<Record<string, Identity>>

const password = (): string => randomBytes(18).toString('hex')
const DEFAULTS: ReadonlyArray<[string, IdentityKind]> = [
  ['admin', 'admin'],
  ['registry', 'registry'],
  ['operator', 'operator'],
  ['auditor', 'auditor'],
]

const KINDS: readonly string[] = ['admin', 'registry', 'operator', 'auditor', 'node']
const isIdentity = (x: unknown): x is Identity =>
  typeof x === 'object' &&
  x !== null &&
  'name' in x &&
  typeof x.name === 'string' &&
  'kind' in x &&
  typeof x.kind === 'string' &&
  KINDS.includes(x.kind) &&
  'password' in x &&
  typeof x.password === 'string'

/** The stored identities (entries that do not read as one are left out); empty before `infra/up`. */
export const readStore = (c: InfraConfig): Store => {
  try {
    const raw: unknown = JSON.parse(readFileSync(identityPaths(c).store, 'utf8'))
    if (typeof raw !== 'object' || raw === null) return {}
    return Object.fromEntries(Object.entries(raw).filter(([, v]) => isIdentity(v)))
  } catch {
    return {}
  }
}

/** One identity's stored credentials (what programs use in dev when no credentials are given). */
export const storedIdentity = (c: InfraConfig, name: string): Identity | null => readStore(c)[name] ?? null

const writeAtomic = (file: string, text: string) => {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, file)
}

/** Writes the store and the server config (the template plus the generated authorization). */
const save = (c: InfraConfig, store: Store) => {
  const p = identityPaths(c)
  writeAtomic(p.store, `${JSON.stringify(store, null, 2)}\n`)
  const template = readFileSync(p.template, 'utf8')
  const authorization = renderAuthorization(Object.values(store))
  for (const s of c.natsServers) {
    const sp = natsServerPaths(c, s)
    const base = template.replaceAll('{{STORE_DIR}}', sp.jetstream)
    writeAtomic(sp.conf, `${base}\n${clusterBlock(c, s)}\n${authorization}`)
  }
}

/** Serialises store changes across processes (test workers grant at the same time). */
const withLock = async <A>(c: InfraConfig, f: () => Promise<A>): Promise<A> => {
  const lock = identityPaths(c).lock
  mkdirSync(join(c.dataDir, 'nats'), { recursive: true })
  const until = Date.now() + 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch (e) {
      if (!(e instanceof Error && 'code' in e && e.code === 'EEXIST')) throw e
      const age = (() => {
        try {
          return Date.now() - statSync(lock).mtimeMs
        } catch {
          return 0
        }
      })()
      if (age > 30_000) rmSync(lock, { recursive: true, force: true }) // a holder died
      if (Date.now() > until) throw new Error(`identity store is locked (${lock})`)
      await sleep(20)
    }
  }
  try {
    return await f()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** The default identities exist and the config is written; returns the store. */
export const ensureStore = (c: InfraConfig): Promise<Store> =>
  withLock(c, async () => {
    const store: Record<string, Identity> = { ...readStore(c) }
    for (const [name, kind] of DEFAULTS) store[name] ??= { name, kind, password: password() }
    save(c, store)
    return store
  })

export interface Grant {
  readonly kind: Exclude<IdentityKind, 'admin'>
  readonly name: string
  readonly nodeId?: string
  readonly endpoints?: readonly string[]
  /** Keep the endpoints already granted (tests: concurrent files share node ids). */
  readonly merge?: boolean
  /** Log in with an nkey (seed file under the data dir) instead of the password. */
  readonly nkey?: boolean
}

const checkName = (what: string, s: string) => {
  if (!IDENTITY_NAME.test(s)) throw new Error(`${what} '${s}' must match ${IDENTITY_NAME.source}`)
}

/** A node identity granting exactly (or at least, with merge) these endpoints. */
export const nodeGrant = (nodeId: string, endpoints: readonly string[], merge = false): Grant => ({
  kind: 'node',
  name: nodeUser(nodeId),
  nodeId,
  endpoints,
  merge,
})

/** A new user nkey: its seed written to <data>/nats/nkeys/<name>.nk (mode 0600). */
const newNkey = (c: InfraConfig, name: string): NonNullable<Identity['nkey']> => {
  const kp = nkeys.createUser()
  const dir = join(c.dataDir, 'nats', 'nkeys')
  mkdirSync(dir, { recursive: true })
  const seedFile = join(dir, `${name}.nk`)
  writeAtomic(seedFile, `${new TextDecoder().decode(kp.getSeed())}\n`)
  return { publicKey: kp.getPublicKey(), seedFile }
}

const granted = (c: InfraConfig, old: Identity | undefined, g: Grant): Identity => {
  checkName('identity name', g.name)
  if (g.kind !== 'node' && g.name.startsWith('node-'))
    throw new Error(`'${g.name}': names starting with node- are node identities`)
  if (old !== undefined && old.kind !== g.kind) throw new Error(`'${g.name}' is already a ${old.kind}`)
  for (const e of g.endpoints ?? []) checkName('endpoint id', e)
  const endpoints =
    g.kind === 'node'
      ? [...new Set([...(g.merge === true ? (old?.endpoints ?? []) : []), ...(g.endpoints ?? [])])].sort()
      : undefined
  return {
    name: g.name,
    kind: g.kind,
    password: old?.password ?? password(),
    ...(old?.nkey !== undefined ? { nkey: old.nkey } : g.nkey === true ? { nkey: newNkey(c, g.name) } : {}),
    ...(g.nodeId === undefined ? {} : { nodeId: g.nodeId }),
    ...(endpoints === undefined ? {} : { endpoints }),
  }
}

const same = (a: Identity | undefined, b: Identity): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * Adds or changes an identity. When our nats-server runs and something changed, reloads it and
 * waits until the reload took effect and the identity can log in. Returns the identity.
 */
export const grant = (c: InfraConfig, g: Grant): Promise<Identity> =>
  withLock(c, async () => {
    const store: Record<string, Identity> = { ...readStore(c) }
    const old = store[g.name]
    const id = granted(c, old, g)
    if (same(old, id)) return id
    store[g.name] = id
    save(c, store)
    if (c.natsServers.some((s) => serverPid(c, s) !== null)) {
      await reloadNats(c)
      await waitLogin(c, id)
    }
    return id
  })

/** The pid of a nats-server infra started (the first when not named), when it still runs. */
export const serverPid = (c: InfraConfig, s: NatsServer = firstServer(c)): number | null => {
  const pid = readPid(natsServerPaths(c, s).pid)
  return pid !== null && alive(pid) ? pid : null
}

const configLoadTime = async (s: NatsServer): Promise<string | null> => {
  try {
    const r = await fetch(`http://127.0.0.1:${s.monitorPort}/varz`)
    const v: unknown = await r.json()
    return typeof v === 'object' &&
      v !== null &&
      'config_load_time' in v &&
      typeof v.config_load_time === 'string'
      ? v.config_load_time
      : null
  } catch {
    return null
  }
}

/** SIGHUP to one server; resolves once its config load time moved (the reload took). */
const reloadOne = async (c: InfraConfig, s: NatsServer, pid: number): Promise<void> => {
  const before = await configLoadTime(s)
  process.kill(pid, 'SIGHUP')
  const until = Date.now() + 15_000
  while (Date.now() < until) {
    const now = await configLoadTime(s)
    if (now !== null && now !== before) return
    await sleep(20)
  }
  throw new Error(
    `${s.name} did not reload its config; last log lines:\n${tail(natsServerPaths(c, s).log, 10)}`,
  )
}

/**
 * Reloads every running nats-server of ours (a cluster member that is down reads the new config
 * when it starts). Fails when none runs.
 */
export const reloadNats = async (c: InfraConfig): Promise<void> => {
  const running = c.natsServers.flatMap((s) => {
    const pid = serverPid(c, s)
    return pid === null ? [] : [{ s, pid }]
  })
  if (running.length === 0) throw new Error('nats-server is not running (infra/up)')
  await Promise.all(running.map(({ s, pid }) => reloadOne(c, s, pid)))
}

/** Waits until `id` can log in (connect and a ping round trip) on every running server of ours. */
export const waitLogin = async (c: InfraConfig, id: Identity): Promise<void> => {
  const running = c.natsServers.filter((s) => serverPid(c, s) !== null)
  await Promise.all(running.map((s) => waitLoginAt(s.port, id)))
}

const waitLoginAt = async (port: number, id: Identity): Promise<void> => {
  const until = Date.now() + 15_000
  for (;;) {
    try {
      const nc = await connect({
        servers: `127.0.0.1:${port}`,
        ...(id.nkey === undefined
          ? { user: id.name, pass: id.password }
          : {
              authenticator: nkeyAuthenticator(
                new TextEncoder().encode(readFileSync(id.nkey.seedFile, 'utf8').trim()),
              ),
            }),
        inboxPrefix: inboxPrefixOf(id.name),
        reconnect: false,
        timeout: 2000,
      })
      await nc.flush()
      await nc.close()
      return
    } catch (e) {
      if (Date.now() > until)
        throw new Error(`login as ${id.name} on port ${port} failed after the reload: ${String(e)}`)
      await sleep(50)
    }
  }
}
