// Prometheus metrics of a node (prom-client), the same in plain and --ha mode: counters as
// counters (`_total`), gauges as gauges, process and Node default metrics, per configured
// endpoint its lease and epoch, outbox depth / dropped / oldest age, recovery progress and
// refusals by reason. Values are read at scrape time. Shell.
import { Counter, Gauge, Registry } from 'prom-client'
import { sessionCount } from '../../registry/index.js'
import { addDefaultMetrics } from '../../registry/shell/metrics-server.js'
import type { EndpointWatch } from './observe.js'
import type { Outbox } from './outbox.js'
import type { RefusalReason } from './refusal.js'
import type { UdpEndpoint } from './udp-endpoint.js'

/** One configured endpoint as the metrics see it. */
export interface MetricsView {
  readonly id: string
  /** Serving now (null: standing by, or stopped). */
  readonly endpoint: UdpEndpoint | null
  readonly outbox: Outbox | null
  readonly watch: EndpointWatch
  /** Under a lease (--ha): held or not, and its epoch; null in plain mode. */
  readonly lease: { readonly held: boolean; readonly epoch: number } | null
}

const REASONS: readonly RefusalReason[] = ['drain', 'outbox', 'release', 'shutdown']

type Read = (v: MetricsView) => number | null
type Labels = Record<string, string>

export const nodeMetrics = (views: () => readonly MetricsView[], now: () => number = Date.now): Registry => {
  const registry = addDefaultMetrics(new Registry())
  const each = (set: (labels: Labels, value: number) => void, read: Read) => {
    for (const v of views()) {
      const x = read(v)
      if (x !== null) set({ endpoint: v.id }, x)
    }
  }
  const gauge = (name: string, help: string, read: Read) =>
    new Gauge({
      name,
      help,
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        this.reset()
        each((l, x) => this.set(l, x), read)
      },
    })
  const counter = (name: string, help: string, read: Read) =>
    new Counter({
      name,
      help,
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        this.reset()
        each((l, x) => this.inc(l, x), read)
      },
    })
  const ep =
    (f: (e: UdpEndpoint) => number): Read =>
    (v) =>
      v.endpoint === null ? null : f(v.endpoint)
  const ob =
    (f: (o: Outbox) => number): Read =>
    (v) =>
      v.outbox === null ? null : f(v.outbox)

  gauge('l2tp_endpoint_serving', '1 while this node serves the endpoint, 0 while it stands by', (v) =>
    v.endpoint === null ? 0 : 1,
  )
  gauge('l2tp_endpoint_epoch', 'Epoch the endpoint is served under (0: not served here)', (v) =>
    v.endpoint === null ? 0 : v.endpoint.epoch,
  )
  gauge('l2tp_lease_held', '1 while this node holds the endpoint lease (--ha only)', (v) =>
    v.lease === null ? null : v.lease.held ? 1 : 0,
  )
  gauge('l2tp_lease_epoch', 'Epoch of the lease this node last held (--ha only)', (v) =>
    v.lease === null ? null : v.lease.epoch,
  )
  gauge(
    'l2tp_tunnels',
    'Established tunnels in the node table',
    ep((e) => e.table.tunnels.size),
  )
  gauge(
    'l2tp_sessions',
    'Established sessions in the node table',
    ep((e) => sessionCount(e.table)),
  )
  counter(
    'l2tp_datagrams_total',
    'Datagrams received',
    ep((e) => e.engine.stats.datagrams),
  )
  counter(
    'l2tp_malformed_total',
    'Datagrams that did not decode',
    ep((e) => e.engine.stats.malformed),
  )
  counter(
    'l2tp_discarded_total',
    'Datagrams discarded (malformed, unknown tunnel, wrong source)',
    ep((e) => e.engine.stats.discarded),
  )
  counter(
    'l2tp_violations_total',
    'Messages refused for unknown/malformed mandatory or missing AVPs',
    ep((e) => e.engine.stats.violations),
  )
  counter(
    'l2tp_data_delivered_total',
    'Data messages delivered to a session',
    ep((e) => e.engine.stats.dataDelivered),
  )
  counter(
    'l2tp_data_dropped_total',
    'Data messages dropped (no established session, out of sequence)',
    ep((e) => e.engine.stats.dataDropped),
  )
  counter(
    'l2tp_sent_total',
    'Datagrams sent',
    ep((e) => e.sent),
  )
  counter(
    'l2tp_refused_tunnel_cap_total',
    'New SCCRQs refused: the endpoint holds maxTunnels tunnels',
    ep((e) => e.engine.stats.refusedTunnelCap),
  )
  counter(
    'l2tp_refused_half_open_total',
    'New SCCRQs refused: their source holds maxHalfOpenPerSource half-open tunnels',
    ep((e) => e.engine.stats.refusedHalfOpen),
  )
  counter(
    'l2tp_refused_sccrq_rate_total',
    'New SCCRQs refused by the SCCRQ admission rate',
    ep((e) => e.engine.stats.refusedSccrqRate),
  )
  counter(
    'l2tp_refused_icrq_rate_total',
    'ICRQs refused by the ICRQ admission rate',
    ep((e) => e.engine.stats.refusedIcrqRate),
  )
  counter(
    'l2tp_session_setup_timeouts_total',
    'Sessions cleared because their set-up did not finish within sessionSetupMs',
    ep((e) => e.engine.stats.sessionSetupTimeouts),
  )
  counter(
    'l2tp_setups_shed_total',
    'New tunnel requests shed while the set-up queue was full (existing tunnels go first)',
    ep((e) => e.setupsShed),
  )
  gauge(
    'l2tp_setups_queued',
    'New tunnel requests waiting behind the traffic of existing tunnels',
    ep((e) => e.setupsQueued),
  )
  counter(
    'l2tp_send_errors_total',
    'Datagrams the socket failed to send',
    ep((e) => e.sendErrors),
  )
  gauge(
    'l2tp_refusing_new',
    '1 while new tunnels and sessions are refused (any reason)',
    ep((e) => (e.engine.refuseNew ? 1 : 0)),
  )
  new Gauge({
    name: 'l2tp_refusing',
    help: '1 while new tunnels and sessions are refused for this reason (drain, outbox, release, shutdown)',
    labelNames: ['endpoint', 'reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const v of views())
        for (const reason of REASONS)
          if (v.endpoint !== null)
            this.set({ endpoint: v.id, reason }, v.endpoint.refusal.has(reason) ? 1 : 0)
    },
  })
  new Counter({
    name: 'l2tp_refused_total',
    help: 'Tunnel and session set-ups refused, by stage and reason (drain, outbox, release, shutdown, session-limit, other)',
    labelNames: ['endpoint', 'stage', 'reason'],
    registers: [registry],
    collect() {
      this.reset()
      for (const v of views())
        for (const [key, n] of v.watch.refused) {
          const [stage = '', reason = ''] = key.split('/')
          this.inc({ endpoint: v.id, stage, reason }, n)
        }
    },
  })
  gauge(
    'l2tp_outbox_pending',
    'Events waiting for Kafka',
    ob((o) => o.pending),
  )
  gauge(
    'l2tp_outbox_oldest_pending_age_seconds',
    'Age of the oldest event waiting for Kafka (0: none waits)',
    ob((o) => (o.oldestPendingAt === null ? 0 : Math.max(0, now() - o.oldestPendingAt) / 1000)),
  )
  counter(
    'l2tp_outbox_appended_total',
    'Events appended to Kafka',
    ob((o) => o.appended),
  )
  counter(
    'l2tp_outbox_dropped_total',
    'Events dropped because the outbox was full',
    ob((o) => o.dropped),
  )
  gauge(
    'l2tp_recovery_queued',
    'Old tunnels waiting for their RFC 4951 recovery to start',
    ep((e) => e.engine.pending.size),
  )
  counter(
    'l2tp_recovery_handed_total',
    'Tunnels handed to RFC 4951 recovery at takeovers',
    (v) => v.watch.recovery.queued,
  )
  counter('l2tp_recovery_recovered_total', 'Tunnels recovered (RFC 4951)', (v) => v.watch.recovery.recovered)
  counter('l2tp_recovery_failed_total', 'Tunnel recoveries that failed', (v) => v.watch.recovery.failed)
  return registry
}

export { serveMetrics } from '../../registry/shell/metrics-server.js'
