// The composition root of l2tp-node: one wiring for plain and --ha mode. Both assemble the same
// parts: endpoints (served at once, or under their lease), publishing to Kafka, operator control
// over NATS, metrics with /healthz and /readyz, lifecycle logs, and a graceful stop (plain: StopCCN
// result 6 to every peer; --ha: release every served endpoint to a standby). Shell.
import type { Server } from 'node:http'
import type { Service } from 'nats'
import type { Logger } from 'pino'
import {
  type EndpointId,
  errorReply,
  nodeServiceMetadata,
  type Reply,
  SERVICE_NODE,
  unsafe,
} from '../../contracts/index.js'
import { drainOrClose, type NatsConnection, natsUp, serve, stopService } from '../../registry/shell/index.js'
import type { Health } from '../../registry/shell/metrics-server.js'
import { StartFailure, step } from '../../registry/shell/start-errors.js'
import { engineConfigOf, type NodeConfig } from '../cli/config.js'
import { nodeCommands } from './commands.js'
import { HaEndpoint } from './ha-endpoint.js'
import type { LeaseOptions } from './lease.js'
import { type MetricsView, nodeMetrics, serveMetrics } from './metrics.js'
import { askRelease, type Brokers, connectBrokers } from './node-brokers.js'
import { EndpointWatch, type Log } from './observe.js'
import type { OutboxOptions } from './outbox.js'
import { PlainEndpoint } from './plain-endpoint.js'
import type { EndpointHooks, UdpEndpoint } from './udp-endpoint.js'

export interface NodeSettings {
  readonly config: NodeConfig
  /** Publish every event to Kafka through the outbox (--ha needs it). */
  readonly publish: boolean
  /** Answer operator commands over NATS (--ha implies it). */
  readonly control: boolean
  /** Own the endpoints through the NATS KV lease; null: serve them at once (plain). */
  readonly ha: { readonly hook: string | null } | null
  readonly metricsPort: number
  /** Bound on a graceful stop's waits (peers' acks, outbox flush). */
  readonly stopTimeoutMs: number
  readonly outbox: OutboxOptions
  readonly lease: LeaseOptions
  readonly log: Logger
  /** Extra endpoint hooks (the simulator watches effects). */
  readonly hooksFor?: (endpointId: string) => EndpointHooks
}

export interface RunningNode {
  /** The endpoint serving `id` now, if any. */
  readonly endpoint: (id: string) => UdpEndpoint | null
  /** Graceful stop; resolves when everything is closed. */
  readonly stop: (why: string) => Promise<void>
}

/** One configured endpoint, whichever mode serves it. */
interface Slot extends MetricsView {
  readonly id: EndpointId
  start(): Promise<void>
  shutdown(): Promise<void>
  /** Operator takeover (--ha only). */
  readonly takeOver: ((issuer: string) => Promise<Reply<unknown>>) | null
}

interface Parts extends Brokers {
  readonly s: NodeSettings
}

const logFor =
  (log: Logger, id: string): Log =>
  (level, msg, extra) =>
    log[level]({ endpoint: id, ...extra }, msg)

const slotOf = (p: Parts, ep: NodeConfig['endpoints'][number]): Slot => {
  const id = ep.id
  const nodeId = p.s.config.nodeId
  const log = logFor(p.s.log, id)
  const extra = p.s.hooksFor?.(id) ?? {}
  let current: () => UdpEndpoint | null = () => null
  const watch = new EndpointWatch(
    log,
    () => current(),
    (level) => p.s.log.isLevelEnabled(level),
  )
  const hooks: EndpointHooks = {
    ...extra,
    onEvent: (e) => {
      watch.onEvent(e)
      extra.onEvent?.(e)
    },
    onEffect: (f) => {
      if (f._tag === 'Dropped') log('debug', 'datagram dropped', { reason: f.reason })
      extra.onEffect?.(f)
    },
  }
  if (p.s.ha === null || p.kv === null) {
    const plain = new PlainEndpoint(engineConfigOf(ep), ep.address, { endpointId: id, nodeId }, log, {
      deps: p.deps,
      nc: p.nc,
      outbox: p.s.outbox,
      watch,
      hooks,
    })
    current = () => (plain.serving ? plain.endpoint : null)
    return {
      id,
      watch,
      lease: null,
      get endpoint() {
        return current()
      },
      get outbox() {
        return plain.outbox
      },
      start: () => step(`endpoint ${id} (${ep.address.host}:${ep.address.port})`, () => plain.start()),
      shutdown: () => plain.shutdown(p.s.stopTimeoutMs),
      takeOver: null,
    }
  }
  if (p.deps === null) throw new StartFailure('--ha needs --publish')
  const ha = new HaEndpoint(
    engineConfigOf(ep),
    ep.address,
    { endpointId: id, nodeId },
    p.deps,
    p.kv,
    p.nc,
    log,
    {
      lease: p.s.lease,
      ...(p.s.ha.hook === null ? {} : { hook: p.s.ha.hook }),
      endpointHooks: hooks,
      outbox: p.s.outbox,
      watch,
    },
  )
  current = () => ha.endpoint
  return {
    id,
    watch,
    get lease() {
      return ha.leaseState
    },
    get endpoint() {
      return ha.endpoint
    },
    get outbox() {
      return ha.outbox
    },
    start: async () => ha.start(),
    shutdown: () => ha.shutdown('node stopping', p.s.stopTimeoutMs),
    takeOver: (issuer) => ha.takeOver(issuer, () => askRelease(p.nc, p.natsUser, id)),
  }
}

const readiness = (
  s: NodeSettings,
  slots: readonly Slot[],
  nats: () => { readonly up: () => boolean } | null,
  phase: () => string | null,
): Health => ({
  // Answering at all shows the loop runs (also while stopping gracefully).
  live: () => true,
  notReady: () => {
    const p = phase()
    if (p !== null) return p
    if (nats()?.up() === false) return 'NATS unreachable'
    const down = slots.find((x) => x.outbox?.unreachable === true)
    if (down !== undefined)
      return `event log unreachable (endpoint ${down.id}, ${down.outbox?.pending} pending)`
    const idle = slots.find((x) => s.ha === null && x.endpoint === null)
    return idle === undefined ? null : `endpoint ${idle.id} is not serving`
  },
})

export const startNode = async (s: NodeSettings): Promise<RunningNode> => {
  let phase: string | null = 'starting'
  const slots: Slot[] = []
  let nats: { readonly up: () => boolean } | null = null
  const health = readiness(
    s,
    slots,
    () => nats,
    () => phase,
  )
  const server: Server | null =
    s.metricsPort > 0
      ? await step(`metrics port 127.0.0.1:${s.metricsPort}`, () =>
          serveMetrics(
            nodeMetrics(() => slots),
            s.metricsPort,
            '127.0.0.1',
            health,
          ),
        )
      : null
  try {
    const parts = { s, ...(await connectBrokers(s)) }
    nats = parts.nc === null ? null : natsUp(parts.nc)
    for (const ep of s.config.endpoints) slots.push(slotOf(parts, ep))
    for (const slot of slots) await slot.start()
    const services = parts.nc === null ? [] : [await serveNode(parts, parts.nc, slots)]
    phase = null
    s.log.info(
      { endpoints: slots.map((x) => x.id), mode: s.ha === null ? 'plain' : 'ha', metricsPort: s.metricsPort },
      s.ha === null ? 'node serving' : 'standing by for leases',
    )
    return {
      endpoint: (id) => slots.find((x) => x.id === id)?.endpoint ?? null,
      stop: async (why) => {
        phase = 'stopping'
        s.log.info({ why }, 'stopping')
        // Bounded: a NATS server that is away must not keep the tunnels from being closed.
        for (const svc of services) await stopService(svc)
        await Promise.all(slots.map((x) => x.shutdown()))
        await drainOrClose(parts.nc)
        server?.close()
        s.log.info({ why }, 'stopped')
      },
    }
  } catch (e) {
    server?.close()
    throw e
  }
}

const serveNode = (p: Parts, nc: NatsConnection, slots: readonly Slot[]): Promise<Service> => {
  const nodeId = unsafe.nodeId(p.s.config.nodeId)
  const takeOver = async (endpointId: EndpointId, issuer: string): Promise<Reply<unknown>> => {
    const claim = slots.find((x) => x.id === endpointId)?.takeOver
    if (claim === undefined || claim === null)
      return errorReply('NotFound', `this node has no endpoint ${endpointId}`)
    return claim(issuer)
  }
  return serve(
    nc,
    {
      name: SERVICE_NODE,
      version: '0.1.0',
      description: `l2tp-node ${nodeId}`,
      metadata: nodeServiceMetadata(nodeId),
    },
    nodeCommands({
      nodeId,
      startedAt: Date.now(),
      serving: () => slots.flatMap((x) => (x.endpoint === null ? [] : [x.endpoint])),
      standbyFor: () => (p.s.ha === null ? [] : slots.filter((x) => x.endpoint === null).map((x) => x.id)),
      outboxOf: (id) => slots.find((x) => x.id === id)?.outbox?.pending ?? null,
      ...(p.s.ha === null ? {} : { takeOver }),
    }),
  )
}
