#!/usr/bin/env node
// l2tp-node: runs the endpoints of a config file as LAC or LNS; with --simulate, one LAC
// endpoint opens N tunnels x M sessions toward a peer and holds them (the peer simulator).
// This file parses and validates; nodes/shell/node-root.ts builds the node (one wiring for
// plain and --ha mode).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { pino } from 'pino'
import { unsafe } from '../../contracts/index.js'
import { CREDENTIALS_HELP } from '../../registry/cli/env.js'
import { reasonOf, StartFailure } from '../../registry/shell/start-errors.js'
import { DEFAULT_DATA_RESYNC } from '../engine/data.js'
import { DEFAULT_LEASE } from '../shell/lease.js'
import { type NodeSettings, startNode } from '../shell/node-root.js'
import { DEFAULT_OUTBOX } from '../shell/outbox.js'
import { Simulation } from '../shell/simulator.js'
import { leaseOf, type NodeConfig, parseConfig } from './config.js'

const HELP = `l2tp-node: an L2TPv2 edge node (RFC 2661 LAC or LNS)

Usage: l2tp-node --config FILE [options]

Config file (JSON; an unknown key anywhere is refused, with its path):
  nodeId                 this node's id
  endpoints[]            at least one:
    id, role             LAC|LNS
    address {host, port} the UDP address the endpoint binds (normally port 1701)
    hostName             Host Name AVP (default: the endpoint id)
    secrets[]            {ref, peerHostName|"*", secret|secretEnv}: tunnel authentication
    challenge            challenge every peer (default false)
    hideAvps             hide sensitive AVPs (default true)
    receiveWindow        1..65535 (default 16)
    retransmit           {initialMs (1000), maxMs >= 8000 (8000), retries (5)}
    helloIntervalMs      HELLO interval, 0 = off (default 60000)
    maxSessionsPerTunnel (default 65535)
    maxTunnels           tunnels of the endpoint, any state; a new SCCRQ beyond gets StopCCN 2/4 (default 65535)
    maxHalfOpenPerSource half-open tunnels one source address may hold; beyond: StopCCN 2/4 (default: no limit)
    maxHalfOpen          half-open tunnels the endpoint holds from all sources; beyond: StopCCN 2/4 (default: no limit)
    admission            {sccrq, icrq}: {perSecond, burst} token buckets; refused: StopCCN / CDN 2/4 (default: none)
    sessionSetupMs       a session not established in time is cleared with a CDN (LAC 10, LNS 2/6), 0 = never (default 60000)
    tieBreaker           send a Tie Breaker AVP in SCCRQ (RFC 2661 §4.4.3, default false)
    dataResyncPackets    RFC 4951 §6: in-sequence old data packets before adopting their Ns (default ${DEFAULT_DATA_RESYNC})
    failover             {control, data, recoveryTimeMs} RFC 4951 capability, or null
  metricsPort            serve metrics (default 0 = off; --metrics-port overrides)
  outbox                 {capacity (${DEFAULT_OUTBOX.capacity}), highWater (${DEFAULT_OUTBOX.highWater}), batch (${DEFAULT_OUTBOX.batch})}: events held
                         while Kafka is away; above highWater new tunnels and sessions are refused
  lease                  {renewMs (${DEFAULT_LEASE.renewMs}), detectionMs (${DEFAULT_LEASE.detectionMs}), pollMs (${DEFAULT_LEASE.pollMs}), marginMs (detectionMs/10, at most 250)}:
                         the --ha endpoint lease; detectionMs must be at least 2 x renewMs (docs/lease.md)
  stopTimeoutMs          bound on a graceful stop's waits (default 5000; --stop-timeout-ms overrides)

Options:
  --config FILE        the node config (above)
  --simulate ID        run endpoint ID (role LAC) as the peer simulator: open tunnels and sessions
  --peer HOST:PORT     the LNS the simulator connects to (default port 1701)
  --tunnels N          tunnels the simulator opens (default 1)
  --sessions M         sessions per tunnel (default 1)
  --concurrency K      tunnel set-ups in flight at once (default 64)
  --duration SECONDS   exit after this long (default: run until SIGINT/SIGTERM)
  --metrics-port PORT  Prometheus metrics on 127.0.0.1:PORT/metrics, liveness /healthz, readiness /readyz
  --ha                 own endpoints through the NATS KV lease (needs --publish and NATS_URL): stand by,
                       take over when the owner's lease is not renewed for the detection time, recover its
                       tunnels (RFC 4951), stop at once when the lease is lost; release on request
  --detection-ms MS    standby detection time (overrides lease.detectionMs; default ${DEFAULT_LEASE.detectionMs};
                       at least 2 x lease.renewMs)
  --hook CMD           shell command run when this node gains or loses an endpoint (env L2TP_EVENT=gain|lose,
                       L2TP_ENDPOINT, L2TP_EPOCH, L2TP_ADDRESS): move the address with VRRP/BGP tooling
  --control            answer operator commands over NATS (NATS_URL): node status, and per endpoint
                       tunnels, sessions, close-tunnel, close-session, sync, drain, undrain (--ha implies
                       it, and adds release and takeover); every command is audited as CommandApplied
  --publish            publish every lifecycle event to Kafka (KAFKA_BROKERS) through the ordered
                       outbox; at start the endpoint is rehydrated from the log under the next epoch
  --stop-timeout-ms MS bound on a graceful stop's waits (default 5000)
  --log-level LEVEL    trace|debug|info|warn|error (default info); logs are JSON lines
  --help               this text

SIGTERM/SIGINT stop gracefully: a plain node closes its tunnels with StopCCN result 6 (requester is
being shut down), waits for the peers' acknowledgements, flushes the outbox; an --ha node releases
each endpoint it serves to a standby. Then it exits 0.
Environment: KAFKA_BROKERS (default 127.0.0.1:19092), L2TP_TOPIC_PREFIX, NATS_URL. The node's NATS
identity is node-<nodeId> (dev: infra/identity node --config FILE grants it its endpoints).
${CREDENTIALS_HELP}
Exit codes: 0 ok, 1 runtime failure (address in use, host not found, broker unreachable), 2 bad
arguments or config.`

/** A bad argument or config: one line, exit 2. */
class Usage extends Error {}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
type Level = (typeof LEVELS)[number]

const parsePeer = (s: string) => {
  const m = /^([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(s)
  if (m === null || m[1] === undefined) throw new Usage(`--peer must be HOST[:PORT], got '${s}'`)
  const port = Number(m[2] ?? 1701)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Usage(`--peer port out of range: ${m[2]}`)
  return { host: m[1].replace(/^\[|\]$/g, ''), port: unsafe.port(port) }
}

const int = (name: string, v: string | undefined, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new Usage(`--${name} must be a whole number in ${min}..${max}, got '${v}'`)
  return n
}

const OPTIONS = {
  config: { type: 'string' },
  simulate: { type: 'string' },
  peer: { type: 'string' },
  tunnels: { type: 'string' },
  sessions: { type: 'string' },
  concurrency: { type: 'string' },
  duration: { type: 'string' },
  'metrics-port': { type: 'string' },
  'log-level': { type: 'string' },
  publish: { type: 'boolean' },
  ha: { type: 'boolean' },
  'detection-ms': { type: 'string' },
  hook: { type: 'string' },
  control: { type: 'boolean' },
  'stop-timeout-ms': { type: 'string' },
  help: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values']

const readConfig = (file: string | undefined): NodeConfig => {
  if (file === undefined) throw new Usage('--config FILE is required (see --help)')
  const text = (() => {
    try {
      return readFileSync(file, 'utf8')
    } catch (e) {
      throw new Usage(`cannot read ${file}: ${reasonOf(e)}`)
    }
  })()
  const parsed = parseConfig(text)
  if (E.isLeft(parsed)) throw new Usage(parsed.left)
  return parsed.right
}

interface Plan {
  readonly settings: Omit<NodeSettings, 'log' | 'hooksFor'>
  readonly level: Level
  readonly durationS: number | null
  readonly simulate: {
    readonly endpoint: string
    readonly options: ConstructorParameters<typeof Simulation>[1]
  } | null
}

/** Every argument checked before anything binds or connects. */
const plan = (v: Values): Plan => {
  const config = readConfig(v.config)
  const level = v['log-level'] ?? 'info'
  if (!LEVELS.some((l) => l === level)) throw new Usage(`--log-level must be one of ${LEVELS.join('|')}`)
  if (v.ha && !v.publish) throw new Usage('--ha needs --publish (the replacement rehydrates from Kafka)')
  if (!v.ha && (v['detection-ms'] !== undefined || v.hook !== undefined))
    throw new Usage('--detection-ms and --hook need --ha')
  const detection = v['detection-ms'] === undefined ? undefined : int('detection-ms', v['detection-ms'], 0, 1)
  const checked = leaseOf(config, detection)
  if (E.isLeft(checked)) throw new Usage(checked.left)
  const lease = checked.right
  const simulate = (() => {
    if (v.simulate === undefined) {
      if (v.peer !== undefined) throw new Usage('--peer needs --simulate')
      return null
    }
    const ep = config.endpoints.find((e) => e.id === v.simulate)
    if (ep === undefined || ep.role !== 'LAC')
      throw new Usage(`--simulate needs an endpoint of role LAC, got '${v.simulate}'`)
    if (v.peer === undefined) throw new Usage('--simulate needs --peer HOST:PORT')
    return {
      endpoint: ep.id,
      options: {
        peer: parsePeer(v.peer),
        tunnels: int('tunnels', v.tunnels, 1, 0, 65535),
        sessionsPerTunnel: int('sessions', v.sessions, 1, 0, 65535),
        concurrentTunnels: int('concurrency', v.concurrency, 64, 1),
      },
    }
  })()
  return {
    level: LEVELS.find((l) => l === level) ?? 'info',
    durationS: v.duration === undefined ? null : int('duration', v.duration, 0, 1),
    simulate,
    settings: {
      config,
      publish: v.publish === true,
      control: v.control === true || v.ha === true,
      ha: v.ha ? { hook: v.hook ?? null } : null,
      metricsPort: int('metrics-port', v['metrics-port'], config.metricsPort ?? 0, 0, 65535),
      stopTimeoutMs: int('stop-timeout-ms', v['stop-timeout-ms'], config.stopTimeoutMs ?? 5000, 1),
      outbox: { ...DEFAULT_OUTBOX, ...config.outbox },
      lease,
    },
  }
}

const main = async (): Promise<void> => {
  const values = (() => {
    try {
      return parseArgs({ options: OPTIONS, strict: true }).values
    } catch (e) {
      throw new Usage(`${reasonOf(e)} (see --help)`)
    }
  })()
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  const p = plan(values)
  const log = pino({ level: p.level, base: { node: p.settings.config.nodeId } })
  let sim: Simulation | undefined
  const node = await startNode({
    ...p.settings,
    log,
    hooksFor: (id) => (p.simulate?.endpoint === id ? { onEffect: (f) => sim?.onEffect(f) } : {}),
  })
  if (p.simulate !== null) {
    const ep = node.endpoint(p.simulate.endpoint)
    if (ep === null) throw new StartFailure(`endpoint ${p.simulate.endpoint} is not serving`)
    const run = new Simulation(ep, p.simulate.options)
    sim = run
    run.start()
    void run.done.then(() =>
      log.info({ progress: run.progress }, 'simulation settled: holding tunnels and sessions'),
    )
  }
  let stopping = false
  const stop = (why: string) => {
    if (stopping) {
      if (why !== 'duration') process.exit(1) // a second signal: stop now, without waiting
      return
    }
    stopping = true
    node.stop(why).then(
      () => process.exit(0),
      (e: unknown) => {
        exitWith(1, `stopping failed: ${reasonOf(e)}`)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  if (p.durationS !== null) setTimeout(() => stop('duration'), p.durationS * 1000)
}

/** One line on stderr, then exit once it is written (the node's sockets would keep it alive). */
function exitWith(code: number, line: string): void {
  process.exitCode = code
  process.stderr.write(`l2tp-node: ${line}\n`, () => process.exit(code))
}

const die = (e: unknown) => exitWith(1, `unexpected failure: ${reasonOf(e)}`)
process.on('uncaughtException', die)
process.on('unhandledRejection', die)

main().catch((e: unknown) => {
  exitWith(e instanceof Usage ? 2 : 1, reasonOf(e))
})
