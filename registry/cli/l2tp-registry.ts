#!/usr/bin/env node
// l2tp-registry: folds l2tp.events into connection tables, writes snapshots, answers queries
// over NATS (l2tp.registry.*), serves Prometheus metrics.
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { pino } from 'pino'
import { Gauge, Registry } from 'prom-client'
import {
  connectNats,
  DEFAULT_REGISTRY,
  ensureTopics,
  makeKafka,
  partitionOffsets,
  RegistryService,
} from '../shell/index.js'
import { serveMetrics } from '../shell/metrics-server.js'
import { compareOffsets } from '../shell/partition-reader.js'
import { brokersFromEnv, CREDENTIALS_HELP, kafkaSecurityFromEnv, natsFromEnv, topicsFromEnv } from './env.js'

const HELP = `l2tp-registry: the event-sourced registry of L2TP tunnels and sessions

Usage: l2tp-registry [options]

Options:
  --group ID            Kafka consumer group (instances of one group share partitions; default l2tp-registry)
  --snapshot-events N   snapshot dirty endpoints every N events (default ${DEFAULT_REGISTRY.snapshotEveryEvents})
  --snapshot-ms MS      ... and at least every MS milliseconds (default ${DEFAULT_REGISTRY.snapshotEveryMs})
  --metrics-port PORT   Prometheus metrics on 127.0.0.1:PORT/metrics (default 0 = off)
  --log-level LEVEL     trace|debug|info|warn|error (default info)
  --help                this text

Environment: KAFKA_BROKERS (default 127.0.0.1:19092), NATS_URL (default nats://127.0.0.1:14222),
L2TP_TOPIC_PREFIX. The NATS identity is registry (dev: from infra's store).
${CREDENTIALS_HELP}`

const fail = (m: string): never => {
  console.error(`l2tp-registry: ${m}`)
  process.exit(2)
}

const int = (name: string, v: string | undefined, d: number): number => {
  if (v === undefined) return d
  const n = Number(v)
  return Number.isInteger(n) && n >= 0 ? n : fail(`--${name} must be a whole number, got '${v}'`)
}

const main = async () => {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          group: { type: 'string' },
          'snapshot-events': { type: 'string' },
          'snapshot-ms': { type: 'string' },
          'metrics-port': { type: 'string' },
          'log-level': { type: 'string' },
          help: { type: 'boolean' },
        },
      })
    } catch (e) {
      return fail(`${e instanceof Error ? e.message : String(e)} (see --help)`)
    }
  })()
  if (values.help) return console.log(HELP)
  const log = pino({ level: values['log-level'] ?? 'info', base: { service: 'l2tp-registry' } })
  const names = topicsFromEnv()
  const brokers = brokersFromEnv()
  await ensureTopics({ brokers, names, ...kafkaSecurityFromEnv() })
  const deps = { kafka: makeKafka({ brokers, clientId: 'l2tp-registry', ...kafkaSecurityFromEnv() }), names }
  const service = new RegistryService(deps, {
    groupId: values.group ?? DEFAULT_REGISTRY.groupId,
    snapshotEveryEvents: int(
      'snapshot-events',
      values['snapshot-events'],
      DEFAULT_REGISTRY.snapshotEveryEvents,
    ),
    snapshotEveryMs: int('snapshot-ms', values['snapshot-ms'], DEFAULT_REGISTRY.snapshotEveryMs),
  })
  await service.start()
  log.info({ snapshots: service.loadedSnapshots, topics: names }, 'registry folding l2tp.events')
  const nc = await connectNats({ ...natsFromEnv('registry'), name: 'l2tp-registry' })()
  if (E.isLeft(nc)) return fail(`NATS: ${nc.left.detail}`)
  await service.serveQueries(nc.right)
  const port = int('metrics-port', values['metrics-port'], 0)
  if (port > 0) {
    const reg = new Registry()
    const g = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [reg],
        collect() {
          this.set(read())
        },
      })
    g('l2tp_registry_events_total', 'Events folded', () => service.stats?.events ?? 0)
    g(
      'l2tp_registry_dead_letters_total',
      'Records sent to l2tp.events.dead',
      () => service.stats?.deadLetters ?? 0,
    )
    g(
      'l2tp_registry_stale_rejected_total',
      'Events of a stale epoch rejected',
      () => service.stats?.verdicts.stale ?? 0,
    )
    g('l2tp_registry_endpoints', 'Endpoints known', () => service.fleet.size)
    g(
      'l2tp_registry_inconsistent_endpoints',
      'Endpoints with a seq gap',
      () => [...service.fleet.values()].filter((t) => !t.consistent).length,
    )
    let lag = 0
    g('l2tp_registry_consumer_lag', 'Committed events not yet folded (all partitions)', () => lag)
    setInterval(async () => {
      const o = await partitionOffsets(deps, names.events)()
      if (E.isLeft(o)) return
      lag = o.right.reduce((sum, p) => {
        const pos = service.positions.get(p.partition) ?? p.low
        return sum + (compareOffsets(p.high, pos) > 0 ? Number(BigInt(p.high) - BigInt(pos)) : 0)
      }, 0)
    }, 5000).unref()
    await serveMetrics(reg, port)
    log.info({ port }, 'metrics on /metrics')
  }
  const stop = async () => {
    await service.stop()
    await nc.right.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}

main().catch((e: unknown) => {
  console.error(`l2tp-registry: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
})
