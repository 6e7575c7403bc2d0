// Prometheus metrics and health of l2tp-registry: counters as counters, gauges as gauges, process
// and Node default metrics; /readyz while it folds and its brokers answer. Shell.
import * as E from 'fp-ts/lib/Either.js'
import type { NatsConnection } from 'nats'
import { Counter, Gauge, Registry } from 'prom-client'
import type { EventLogDeps } from './event-log.js'
import { addDefaultMetrics, type Health } from './metrics-server.js'
import { compareOffsets, partitionOffsets } from './partition-reader.js'
import type { RegistryService } from './registry-service.js'

export interface RegistryMonitor {
  readonly registry: Registry
  readonly health: Health
  /** Stops the lag poll. */
  readonly stop: () => void
}

export const registryMonitor = (
  service: RegistryService,
  deps: EventLogDeps,
  nc: NatsConnection,
  pollMs = 5000,
): RegistryMonitor => {
  const registry = addDefaultMetrics(new Registry())
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(read())
      },
    })
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      },
    })
  counter('l2tp_registry_events_total', 'Events folded', () => service.stats?.events ?? 0)
  counter(
    'l2tp_registry_dead_letters_total',
    'Records sent to l2tp.events.dead',
    () => service.stats?.deadLetters ?? 0,
  )
  counter(
    'l2tp_registry_stale_rejected_total',
    'Events of a stale epoch rejected',
    () => service.stats?.verdicts.stale ?? 0,
  )
  counter(
    'l2tp_registry_snapshots_written_total',
    'Endpoint snapshots written',
    () => service.snapshotsWritten,
  )
  counter(
    'l2tp_registry_snapshot_failures_total',
    'Snapshot writes that failed (their endpoints stay dirty for the next interval)',
    () => service.snapshotFailures,
  )
  gauge(
    'l2tp_registry_snapshot_gaps',
    'Partitions whose log start (cut by retention) no snapshot covers',
    () => service.snapshotGaps.length,
  )
  gauge('l2tp_registry_endpoints', 'Endpoints known', () => service.fleet.size)
  gauge(
    'l2tp_registry_inconsistent_endpoints',
    'Endpoints with a seq gap',
    () => [...service.fleet.values()].filter((t) => !t.consistent).length,
  )
  const state: { lag: number; kafka: string | null; nats: boolean; stopping: boolean } = {
    lag: 0,
    kafka: null,
    nats: true,
    stopping: false,
  }
  gauge('l2tp_registry_consumer_lag', 'Committed events not yet folded (all partitions)', () => state.lag)
  const poll = async () => {
    const o = await partitionOffsets(deps, deps.names.events)()
    if (E.isLeft(o)) {
      state.kafka = `Kafka unreachable: ${o.left.detail.split('\n')[0]}`
      return
    }
    state.kafka = null
    state.lag = o.right.reduce((sum, p) => {
      const pos = service.positions.get(p.partition) ?? p.low
      return sum + (compareOffsets(p.high, pos) > 0 ? Number(BigInt(p.high) - BigInt(pos)) : 0)
    }, 0)
  }
  const timer = setInterval(() => void poll(), pollMs)
  timer.unref()
  void (async () => {
    for await (const st of nc.status()) {
      const type = String(st.type)
      if (type === 'disconnect') state.nats = false
      if (type === 'reconnect') state.nats = true
    }
  })().catch(() => undefined)
  return {
    registry,
    health: {
      live: () => true,
      notReady: () => {
        const gap = service.snapshotGaps[0]
        return state.stopping
          ? 'stopping'
          : !state.nats
            ? 'NATS unreachable'
            : (state.kafka ??
              (gap === undefined ? null : `snapshot gap in partition ${gap.partition}: ${gap.detail}`))
      },
    },
    stop: () => {
      state.stopping = true
      clearInterval(timer)
    },
  }
}
