// A TCP proxy on loopback between one process and its brokers, that a drill can cut: while cut,
// bytes are swallowed both ways and new connections hang (a partition: packets dropped, no RST);
// healing closes the hung connections so the client reconnects. Shell (sockets).
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

export interface CutProxy {
  /** Drop everything from now on (existing and new connections). */
  readonly cut: () => void
  /** Forward again; connections hung by the cut are closed (the client reconnects). */
  readonly heal: () => void
  readonly isCut: () => boolean
  readonly close: () => Promise<void>
}

/** Forwards each `listen` port to its `target` port on 127.0.0.1. */
export const startCutProxy = async (
  routes: ReadonlyArray<{ readonly listen: number; readonly target: number }>,
): Promise<CutProxy> => {
  let cut = false
  const pairs = new Set<{ client: Socket; upstream: Socket | null; hung: boolean }>()
  const servers: Server[] = []
  const onClient = (target: number) => (client: Socket) => {
    const pair: { client: Socket; upstream: Socket | null; hung: boolean } = {
      client,
      upstream: null,
      hung: cut,
    }
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      client.destroy()
      pair.upstream?.destroy()
    }
    client.on('error', drop)
    client.on('close', drop)
    if (cut) {
      client.on('data', () => undefined) // swallowed
      return
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port: target })
    pair.upstream = upstream
    upstream.on('error', drop)
    upstream.on('close', drop)
    client.on('data', (b) => {
      if (!pair.hung) upstream.write(b)
    })
    upstream.on('data', (b) => {
      if (!pair.hung) client.write(b)
    })
  }
  for (const r of routes) {
    const s = createServer(onClient(r.target))
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(r.listen, '127.0.0.1', () => resolve())
    })
    servers.push(s)
  }
  return {
    cut: () => {
      cut = true
      for (const p of pairs) p.hung = true
    },
    heal: () => {
      cut = false
      for (const p of [...pairs]) {
        if (!p.hung) continue
        pairs.delete(p)
        p.client.destroy()
        p.upstream?.destroy()
      }
    },
    isCut: () => cut,
    close: async () => {
      for (const p of pairs) {
        p.client.destroy()
        p.upstream?.destroy()
      }
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
    },
  }
}
