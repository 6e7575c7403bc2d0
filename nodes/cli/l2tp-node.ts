#!/usr/bin/env node
// l2tp-node: runs the endpoints of a config file as LAC or LNS; with --simulate, one LAC
// endpoint opens N tunnels x M sessions toward a peer and holds them (the peer simulator).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { type Logger, pino } from 'pino'
import {
  endpointSubjects,
  errorReply,
  issuedSubject,
  LEASE_BUCKET,
  SERVICE_NODE,
  unsafe,
} from '../../contracts/index.js'
import {
  brokersFromEnv,
  CREDENTIALS_HELP,
  kafkaSecurityFromEnv,
  natsFromEnv,
  topicsFromEnv,
} from '../../registry/cli/env.js'
import {
  connectNats,
  type endpoint,
  ensureTopics,
  makeKafka,
  type NatsConnection,
  openKv,
  request,
  serve,
} from '../../registry/shell/index.js'
import { endpointCommands, nodeCommands } from '../shell/commands.js'
import { HaEndpoint } from '../shell/ha-endpoint.js'
import { DEFAULT_LEASE } from '../shell/lease.js'
import { nodeMetrics, serveMetrics } from '../shell/metrics.js'
import { DEFAULT_OUTBOX, type Outbox } from '../shell/outbox.js'
import { startPublishing } from '../shell/publishing.js'
import { Simulation } from '../shell/simulator.js'
import { UdpEndpoint } from '../shell/udp-endpoint.js'
import { engineConfigOf, type NodeConfig, parseConfig } from './config.js'

const HELP = `l2tp-node: an L2TPv2 edge node (RFC 2661 LAC or LNS)

Usage: l2tp-node --config FILE [options]

Options:
  --config FILE        node config (JSON): nodeId, endpoints[] (id, role LAC|LNS, address {host, port},
                       hostName, secrets[{ref, peerHostName|"*", secret|secretEnv}], challenge, hideAvps,
                       receiveWindow, retransmit {initialMs, maxMs>=8000, retries}, helloIntervalMs,
                       maxSessionsPerTunnel, failover {control, data, recoveryTimeMs}), metricsPort.
                       Errors name the path of the bad field.
  --simulate ID        run endpoint ID (role LAC) as the peer simulator: open tunnels and sessions
  --peer HOST:PORT     the LNS the simulator connects to (default port 1701)
  --tunnels N          tunnels the simulator opens (default 1)
  --sessions M         sessions per tunnel (default 1)
  --concurrency K      tunnel set-ups in flight at once (default 64)
  --duration SECONDS   exit after this long (default: run until SIGINT/SIGTERM)
  --metrics-port PORT  serve Prometheus metrics on 127.0.0.1:PORT/metrics (0 = off; overrides config)
  --ha                 own endpoints through the NATS KV lease (needs --publish and NATS_URL): stand by,
                       take over when the owner's lease is not renewed for --detection-ms, recover its
                       tunnels (RFC 4951), stop at once when the lease is lost; release on request
  --detection-ms MS    standby detection time (default 3000)
  --hook CMD           shell command run when this node gains or loses an endpoint (env L2TP_EVENT=gain|lose,
                       L2TP_ENDPOINT, L2TP_EPOCH, L2TP_ADDRESS): move the address with VRRP/BGP tooling
  --control            answer operator commands over NATS (NATS_URL): node status, and per endpoint
                       tunnels, sessions, close-tunnel, close-session, sync, drain (--ha implies it,
                       and adds release and takeover); every command is audited as CommandApplied
  --publish            publish every lifecycle event to Kafka (KAFKA_BROKERS) through the ordered
                       outbox; at start the endpoint is rehydrated from the log under the next epoch
  --log-level LEVEL    trace|debug|info|warn|error (default info); logs are JSON lines
  --help               this text

Environment: KAFKA_BROKERS (default 127.0.0.1:19092), L2TP_TOPIC_PREFIX, NATS_URL. The node's NATS
identity is node-<nodeId> (dev: infra/identity node --config FILE grants it its endpoints).
${CREDENTIALS_HELP}
Exit codes: 0 ok, 1 runtime failure, 2 bad arguments or config.`

const fail = (msg: string): never => {
  console.error(`l2tp-node: ${msg}`)
  process.exit(2)
}

const parsePeer = (s: string) => {
  const m = /^([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(s)
  if (m === null) return fail(`--peer must be HOST[:PORT], got '${s}'`)
  const port = Number(m[2] ?? 1701)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`--peer port out of range: ${m[2]}`)
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: unsafe.port(port) }
}

const count = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) return fail(`--${name} must be a whole number, got '${v}'`)
  return n
}

const main = async (): Promise<void> => {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
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
          help: { type: 'boolean' },
        },
        strict: true,
      })
    } catch (e) {
      return fail(`${e instanceof Error ? e.message : String(e)} (see --help)`)
    }
  })()
  if (values.help) {
    console.log(HELP)
    return
  }
  if (values.config === undefined) return fail('--config FILE is required (see --help)')
  const text = (() => {
    try {
      return readFileSync(values.config, 'utf8')
    } catch (e) {
      return fail(`cannot read ${values.config}: ${e instanceof Error ? e.message : String(e)}`)
    }
  })()
  const parsed = parseConfig(text)
  if (E.isLeft(parsed)) return fail(parsed.left)
  const config = parsed.right
  let sim: { endpoint: string; run: Simulation } | undefined
  const log = pino({ level: values['log-level'] ?? 'info', base: { nodeId: config.nodeId } })
  if (values.ha) return runHa(config, values, log)
  const endpoints = config.endpoints.map(
    (ep) =>
      new UdpEndpoint(
        engineConfigOf(ep),
        ep.address,
        { endpointId: ep.id, nodeId: config.nodeId, epoch: 1 },
        {
          onEvent: (e) => log.info({ event: e }, e.type),
          onEffect: (f) => {
            if (f._tag === 'Dropped') log.debug({ endpoint: ep.id, reason: f.reason }, 'datagram dropped')
            if (sim?.endpoint === ep.id) sim.run.onEffect(f)
          },
        },
      ),
  )
  const deps = values.publish
    ? {
        kafka: makeKafka({ brokers: brokersFromEnv(), clientId: `l2tp-node-${config.nodeId}` }),
        names: topicsFromEnv(),
      }
    : null
  const outboxes: Outbox[] = []
  const outboxById = new Map<string, Outbox>()
  if (deps !== null)
    await ensureTopics({ brokers: brokersFromEnv(), names: deps.names, ...kafkaSecurityFromEnv() })
  for (const e of endpoints) {
    await e.start()
    if (deps !== null) {
      const p = await startPublishing(
        e,
        deps,
        (level, msg, extra) => log[level]({ endpoint: e.identity.endpointId, ...extra }, msg),
        DEFAULT_OUTBOX,
        () => {
          log.error(
            { endpoint: e.identity.endpointId },
            'fenced: another node owns this endpoint now; stopping it',
          )
          void e.stop()
        },
      )
      outboxes.push(p.outbox)
      outboxById.set(e.identity.endpointId, p.outbox)
      log.info(
        {
          endpoint: e.identity.endpointId,
          epoch: p.epoch,
          rehydratedTunnels: p.rehydratedTunnels,
          recovering: p.recovering,
        },
        'publishing to Kafka',
      )
    }
    log.info(
      { endpoint: e.identity.endpointId, address: e.bind, role: e.engine.config.role },
      'endpoint serving',
    )
  }
  const startedAt = Date.now()
  const control = values.control
    ? await serveControl(config, log, [
        nodeCommands({ nodeId: config.nodeId, startedAt, serving: () => endpoints, standbyFor: () => [] }),
        ...endpoints.map((e) => endpointCommands(e)),
      ])
    : null
  const metricsPort = count('metrics-port', values['metrics-port'], config.metricsPort ?? 0)
  const server =
    metricsPort > 0
      ? await serveMetrics(
          nodeMetrics(
            () => endpoints,
            (id) => outboxById.get(id),
          ),
          metricsPort,
        )
      : null
  if (server !== null) log.info({ port: metricsPort }, 'metrics on /metrics')
  if (values.simulate !== undefined) {
    const ep = endpoints.find((e) => e.identity.endpointId === values.simulate)
    if (ep === undefined || ep.engine.config.role !== 'LAC')
      return fail(`--simulate needs an endpoint of role LAC, got '${values.simulate}'`)
    if (values.peer === undefined) return fail('--simulate needs --peer HOST:PORT')
    const run = new Simulation(ep, {
      peer: parsePeer(values.peer),
      tunnels: count('tunnels', values.tunnels, 1),
      sessionsPerTunnel: count('sessions', values.sessions, 1),
      concurrentTunnels: count('concurrency', values.concurrency, 64),
    })
    sim = { endpoint: values.simulate, run }
    run.start()
    void run.done.then(() =>
      log.info({ progress: run.progress }, 'simulation settled: holding tunnels and sessions'),
    )
  }
  const stop = async (why: string) => {
    log.info({ why }, 'stopping')
    server?.close()
    await control?.close()
    for (const e of endpoints) await e.stop()
    for (const o of outboxes) {
      await o.drain(10_000)
      await o.close()
    }
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
  if (values.duration !== undefined)
    setTimeout(() => void stop('duration'), count('duration', values.duration, 0) * 1000)
}

/** Connects to NATS as the node user and serves these command sets (one micro service each). */
const serveControl = async (
  config: NodeConfig,
  log: Logger,
  sets: ReadonlyArray<ReadonlyArray<ReturnType<typeof endpoint>>>,
): Promise<NatsConnection> => {
  const nc = await connectNats({
    ...natsFromEnv('node', config.nodeId),
    name: `l2tp-node-${config.nodeId}`,
  })()
  if (E.isLeft(nc)) return fail(`NATS: ${nc.left.detail}`)
  for (const set of sets)
    await serve(
      nc.right,
      { name: SERVICE_NODE, version: '0.1.0', description: `l2tp-node ${config.nodeId}` },
      set,
    )
  log.info({ subjects: sets.flat().map((e) => e.subject) }, 'answering operator commands over NATS')
  return nc.right
}

type Values = {
  publish?: boolean | undefined
  'detection-ms'?: string | undefined
  hook?: string | undefined
  duration?: string | undefined
}

/** --ha: every endpoint under its lease; this node serves the ones it wins. */
const runHa = async (config: NodeConfig, values: Values, log: Logger): Promise<void> => {
  if (!values.publish) return fail('--ha needs --publish (the replacement rehydrates from Kafka)')
  const brokers = brokersFromEnv()
  const deps = {
    kafka: makeKafka({ brokers, clientId: `l2tp-node-${config.nodeId}` }),
    names: topicsFromEnv(),
  }
  await ensureTopics({ brokers, names: deps.names, ...kafkaSecurityFromEnv() })
  const nats = natsFromEnv('node', config.nodeId)
  const nc = await connectNats({ ...nats, name: `l2tp-node-${config.nodeId}` })()
  if (E.isLeft(nc)) return fail(`NATS: ${nc.left.detail}`)
  const kv = await openKv(nc.right, LEASE_BUCKET)()
  if (E.isLeft(kv)) return fail(`lease bucket: ${kv.left.detail}`)
  // Binding asks nothing of the server: read one of our keys to find a missing bucket (infra/up
  // creates it) or a missing grant (infra/identity node --config) now, not as a silent standby.
  const probe = await kv.right.get(config.endpoints[0]?.id ?? '-')()
  if (E.isLeft(probe)) return fail(`lease bucket ${LEASE_BUCKET} (as ${nats.user}): ${probe.left.detail}`)
  const detectionMs = count('detection-ms', values['detection-ms'], DEFAULT_LEASE.detectionMs)
  const has = config.endpoints.map((ep) => {
    const l = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) =>
      log[level]({ endpoint: ep.id, ...extra }, msg)
    const h = new HaEndpoint(
      engineConfigOf(ep),
      ep.address,
      { endpointId: ep.id, nodeId: config.nodeId },
      deps,
      kv.right,
      nc.right,
      l,
      {
        lease: { ...DEFAULT_LEASE, detectionMs },
        ...(values.hook === undefined ? {} : { hook: values.hook }),
        endpointHooks: { onEvent: (e) => log.debug({ event: e }, e.type) },
      },
    )
    h.start()
    return h
  })
  const ids = config.endpoints.map((e) => unsafe.endpointId(e.id))
  await serve(
    nc.right,
    { name: SERVICE_NODE, version: '0.1.0', description: `l2tp-node ${config.nodeId}` },
    nodeCommands({
      nodeId: unsafe.nodeId(config.nodeId),
      startedAt: Date.now(),
      serving: () => has.flatMap((h) => (h.endpoint === null ? [] : [h.endpoint])),
      standbyFor: () => ids.filter((_, i) => has[i]?.isServing !== true),
      takeOver: async (endpointId, issuer) => {
        const i = ids.indexOf(endpointId)
        const h = has[i]
        if (h === undefined) return errorReply('NotFound', `this node has no endpoint ${endpointId}`)
        // The release is this node's own request (issued under its identity); the takeover
        // itself is audited by the new owner with the operator as issuer.
        return h.takeOver(issuer, async () => {
          const r = await request(
            nc.right,
            issuedSubject(endpointSubjects(endpointId).release, nats.user),
            { type: 'ReleaseEndpoint', v: 1, endpointId },
            1000, // an owner that does not answer within a second is claimed from
          )()
          return E.isRight(r) && (r.right as { ok?: boolean }).ok === true
        })
      },
    }),
  )
  log.info({ endpoints: config.endpoints.map((e) => e.id), detectionMs }, 'standing by for leases')
  const stop = async (why: string) => {
    log.info({ why }, 'stopping')
    for (const h of has) await h.stop()
    await nc.right.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
  if (values.duration !== undefined)
    setTimeout(() => void stop('duration'), count('duration', values.duration, 0) * 1000)
}

main().catch((e: unknown) => {
  console.error(`l2tp-node: ${e instanceof Error ? e.stack : String(e)}`)
  process.exit(1)
})
