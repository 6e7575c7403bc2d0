// Serves a prom-client registry on /metrics, liveness on /healthz and readiness on /readyz
// (127.0.0.1 by default). Shell.
import { createServer, type Server } from 'node:http'
import { collectDefaultMetrics, type Registry } from 'prom-client'

/**
 * Process and Node default metrics on `registry`, minus prom-client's gauges named `_total`
 * (nodejs_active_handles_total and the like): Prometheus reserves the suffix for counters, and
 * the same figures are there by type without it (nodejs_active_handles).
 */
export const addDefaultMetrics = (registry: Registry): Registry => {
  collectDefaultMetrics({ register: registry })
  for (const m of registry.getMetricsAsArray())
    if (m.name.endsWith('_total') && String(m.type) !== 'counter') registry.removeSingleMetric(m.name)
  return registry
}

export interface Health {
  /** True while the process runs its loop (answering at all shows it does). */
  readonly live: () => boolean
  /** null when ready (serving or standing by, brokers reachable); otherwise why not, in one line. */
  readonly notReady: () => string | null
}

const ALWAYS: Health = { live: () => true, notReady: () => null }

const text = (status: number, body: string) => ({ status, body: `${body}\n` })

export const serveMetrics = (
  registry: Registry,
  port: number,
  host = '127.0.0.1',
  health: Health = ALWAYS,
): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]
      const plain = (r: { status: number; body: string }): void => {
        res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8' }).end(r.body)
      }
      if (path === '/healthz') plain(health.live() ? text(200, 'ok') : text(503, 'stopping'))
      else if (path === '/readyz') {
        const why = health.notReady()
        plain(why === null ? text(200, 'ready') : text(503, why))
      } else if (path !== '/metrics') plain(text(404, 'not found: /metrics, /healthz, /readyz'))
      else
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          (e: unknown) => plain(text(500, String(e))),
        )
    })
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
