// The lifecycle of a NATS connection as a service sees it: whether the server is reachable now
// (readiness), and stops that cannot hang. Stopping a service or draining a connection waits
// for the server's PONG; while the server is away (the client reconnects forever) that never
// comes, so a graceful stop would wait forever. Shell.
import type { NatsConnection, Service } from 'nats'

/** What a stop may wait for the server at most, unless told otherwise. */
export const NATS_STOP_MS = 2000

/** Waits for `p` at most `ms`: true once it settled (resolved or rejected), false on time out. */
export const settlesWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Stops a service (its subscriptions drain); a server that does not answer cannot hold it up. */
export const stopService = (svc: Service | null | undefined, ms = NATS_STOP_MS): Promise<boolean> =>
  svc === null || svc === undefined ? Promise.resolve(true) : settlesWithin(svc.stop(), ms)

/** Drains a connection, or closes it at once when the server does not answer in time. */
export const drainOrClose = async (nc: NatsConnection | null, ms = NATS_STOP_MS): Promise<void> => {
  if (nc === null || nc.isClosed()) return
  if (await settlesWithin(nc.drain(), ms)) return
  await settlesWithin(nc.close(), ms)
}

/** Whether the connection is up now (false from a disconnect until the reconnect). */
export const natsUp = (nc: NatsConnection): { readonly up: () => boolean } => {
  let up = true
  void (async () => {
    for await (const st of nc.status()) {
      const type = String(st.type)
      if (type === 'disconnect') up = false
      if (type === 'reconnect') up = true
    }
  })().catch(() => undefined)
  return { up: () => up }
}
