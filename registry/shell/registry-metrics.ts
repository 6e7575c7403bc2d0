// Prometheus metrics and health of l2tp-registry: counters as counters, gauges as gauges, process
// and Node default metrics; /readyz while it folds and its brokers answer. Shell.
import * as E from 'fp-ts/lib/Either.js'
import type { NatsConnection } from 'nats'
import { Counter, Gauge, Registry } from 'prom-client'
import type { Offset } from '../../contracts/index.js'
import type { EventLogDeps } from './event-log.js'
import { addDefaultMetrics, type Health } from './metrics-server.js'
import { natsUp } from './nats-lifecycle.js'
import { compareOffsets, type PartitionOffsets, partitionOffsets } from './partition-reader.js'
import type { RegistryService } from './registry-service.js'

export interface RegistryMonitor {
  readonly registry: Registry
  readonly health: Health
  /** Stops the lag poll. */
  readonly stop: () => void
}

/**
 * Committed events not yet folded, over the partitions this instance holds only (the others are
 * another instance's lag); a held partition not folded yet counts from its start.
 */
export const lagOf = (
  ends: readonly PartitionOffsets[],
  positions: ReadonlyMap<number, Offset>,
  held: readonly number[],
): number => {
  const mine = new Set(held)
  return ends.reduce((sum, p) => {
    if (!mine.has(p.partition)) return sum
    const pos = positions.get(p.partition) ?? p.low
    return sum + (compareOffsets(p.high, pos) > 0 ? Number(BigInt(p.high) - BigInt(pos)) : 0)
  }, 0)
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
  const state: { lag: number; kafka: string | null; stopping: boolean } = {
    lag: 0,
    kafka: null,
    stopping: false,
  }
  const nats = natsUp(nc)
  gauge(
    'l2tp_registry_consumer_lag',
    'Committed events not yet folded (the partitions this instance holds)',
    () => state.lag,
  )
  const poll = async () => {
    const o = await partitionOffsets(deps, deps.names.events)()
    if (E.isLeft(o)) {
      state.kafka = `Kafka unreachable: ${o.left.detail.split('\n')[0]}`
      return
    }
    state.kafka = null
    state.lag = lagOf(o.right, service.positions, service.assigned)
  }
  // One poll at a time: while Kafka is away a poll (a new admin client, with retries) can outlast
  // the interval, and overlapping ones would pile up admin clients.
  let polling = false
  const timer = setInterval(() => {
    if (polling) return
    polling = true
    void poll().finally(() => {
      polling = false
    })
  }, pollMs)
  timer.unref()
  return {
    registry,
    health: {
      live: () => true,
      notReady: () => {
        const gap = service.snapshotGaps[0]
        return state.stopping
          ? 'stopping'
          : !nats.up()
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
