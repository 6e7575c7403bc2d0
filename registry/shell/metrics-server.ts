// Serves a prom-client registry on /metrics (127.0.0.1 by default). Shell.
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

export const serveMetrics = (registry: Registry, port: number, host = '127.0.0.1'): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end()
        return
      }
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (e: unknown) => res.writeHead(500).end(String(e)),
      )
    })
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
