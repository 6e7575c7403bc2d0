// Prometheus metrics of a node (prom-client) served on /metrics. Shell.
import { Gauge, Registry } from 'prom-client'
import { sessionCount } from '../../registry/index.js'
import type { Outbox } from './outbox.js'
import type { UdpEndpoint } from './udp-endpoint.js'

export const nodeMetrics = (
  endpoints: () => readonly UdpEndpoint[],
  outboxOf: (endpointId: string) => Outbox | undefined = () => undefined,
): Registry => {
  const registry = new Registry()
  const gauge = (name: string, help: string, read: (e: UdpEndpoint) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        for (const e of endpoints()) this.set({ endpoint: e.identity.endpointId }, read(e))
      },
    })
  gauge('l2tp_tunnels', 'Established tunnels in the node table', (e) => e.table.tunnels.size)
  gauge('l2tp_sessions', 'Established sessions in the node table', (e) => sessionCount(e.table))
  gauge('l2tp_datagrams_total', 'Datagrams received', (e) => e.engine.stats.datagrams)
  gauge('l2tp_malformed_total', 'Datagrams that did not decode', (e) => e.engine.stats.malformed)
  gauge(
    'l2tp_discarded_total',
    'Datagrams discarded (malformed, unknown tunnel, wrong source)',
    (e) => e.engine.stats.discarded,
  )
  gauge(
    'l2tp_violations_total',
    'Messages refused for unknown/malformed mandatory or missing AVPs',
    (e) => e.engine.stats.violations,
  )
  gauge(
    'l2tp_data_delivered_total',
    'Data messages delivered to a session',
    (e) => e.engine.stats.dataDelivered,
  )
  gauge(
    'l2tp_data_dropped_total',
    'Data messages dropped (no established session, out of sequence)',
    (e) => e.engine.stats.dataDropped,
  )
  gauge('l2tp_sent_total', 'Datagrams sent', (e) => e.sent)
  gauge(
    'l2tp_refusing_new',
    '1 while new tunnels and sessions are refused (drain or outbox near full)',
    (e) => (e.engine.refuseNew ? 1 : 0),
  )
  gauge(
    'l2tp_outbox_pending',
    'Events waiting for Kafka',
    (e) => outboxOf(e.identity.endpointId)?.pending ?? 0,
  )
  gauge(
    'l2tp_outbox_appended_total',
    'Events appended to Kafka',
    (e) => outboxOf(e.identity.endpointId)?.appended ?? 0,
  )
  return registry
}

export { serveMetrics } from '../../registry/shell/metrics-server.js'
