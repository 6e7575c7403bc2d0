// One l2tp-registry instance of the fleet bench, in its own process (forked by bench/fleet.ts):
// folds the events topic with the real RegistryService, reports its positions while it folds,
// and on request writes snapshots or measures queries against its tables. Talks over IPC.
import { kafkaBrokers } from '../infra/config.js'
import { sessionCount, tunnelView } from '../registry/index.js'
import { endpointsPage, makeKafka, RegistryService, summaryOf, tablePageOf } from '../registry/shell/index.js'

export type ToParent =
  | { kind: 'progress'; positions: Record<string, string>; sessions: number }
  | { kind: 'snapshotted'; seconds: number; written: number }
  | { kind: 'queries'; p99Ms: Record<string, number>; p50Ms: Record<string, number> }
  | { kind: 'final'; maxRssMiB: number; endpoints: number; sessions: number }
export type ToChild = { kind: 'snapshot' } | { kind: 'queries' } | { kind: 'stop' }

const send = (m: ToParent): void => {
  process.send?.(m)
}

const env = (k: string): string => {
  const v = process.env[k]
  if (v === undefined) throw new Error(`fleet-instance needs ${k}`)
  return v
}

const sessionsOf = (service: RegistryService): number => {
  let n = 0
  for (const t of service.fleet.values()) n += sessionCount(t)
  return n
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Number((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0).toFixed(3))
}

/** p50/p99 of an endpoint summary, the endpoints list, one tunnel and one page of 500 sessions. */
const measureQueries = (service: RegistryService, rounds = 300) => {
  const ids = [...service.fleet.keys()]
  const times: Record<string, number[]> = { summary: [], endpoints: [], tunnel: [], sessionsPage: [] }
  const time = (k: string, f: () => unknown) => {
    const t0 = performance.now()
    // Replies are encoded as the NATS handler does, so that the JSON of a page counts too.
    JSON.stringify(f())
    times[k]?.push(performance.now() - t0)
  }
  for (let i = 0; i < rounds; i++) {
    const t = service.fleet.get(ids[(i * 7919) % ids.length] ?? '')
    if (t === undefined) continue
    const tunnelIds = [...t.tunnels.keys()]
    const tunnel = t.tunnels.get(tunnelIds[(i * 31) % tunnelIds.length] ?? 0)
    time('summary', () => summaryOf(t))
    time('endpoints', () => endpointsPage(service.fleet, { limit: 100 }, (x) => summaryOf(x)))
    if (tunnel !== undefined) time('tunnel', () => tunnelView(tunnel))
    time('sessionsPage', () => tablePageOf(t, { limit: 500 }))
  }
  const p99Ms: Record<string, number> = {}
  const p50Ms: Record<string, number> = {}
  for (const [k, xs] of Object.entries(times)) {
    p99Ms[k] = percentile(xs, 0.99)
    p50Ms[k] = percentile(xs, 0.5)
  }
  return { p99Ms, p50Ms }
}

const main = async () => {
  const deps = {
    kafka: makeKafka({ brokers: kafkaBrokers(), clientId: `bench-fleet-${process.pid}` }),
    names: { events: env('FLEET_EVENTS'), snapshots: env('FLEET_SNAPSHOTS'), dead: env('FLEET_DEAD') },
  }
  // Snapshots only when asked (after the rebuild), so that the rebuild measures the fold.
  const service = new RegistryService(deps, {
    groupId: env('FLEET_GROUP'),
    snapshotEveryEvents: Number.MAX_SAFE_INTEGER,
    snapshotEveryMs: 2_000_000_000,
  })
  await service.start()
  const progress = setInterval(() => {
    send({
      kind: 'progress',
      positions: Object.fromEntries(service.positions),
      sessions: sessionsOf(service),
    })
  }, 200)
  process.on('message', (m: ToChild) => {
    void (async () => {
      if (m.kind === 'snapshot') {
        const t0 = performance.now()
        await service.snapshot()
        send({
          kind: 'snapshotted',
          seconds: (performance.now() - t0) / 1000,
          written: service.snapshotsWritten,
        })
      } else if (m.kind === 'queries') {
        send({ kind: 'queries', ...measureQueries(service) })
      } else {
        clearInterval(progress)
        send({
          kind: 'final',
          maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
          endpoints: service.fleet.size,
          sessions: sessionsOf(service),
        })
        await service.stop()
        process.exit(0)
      }
    })()
  })
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
