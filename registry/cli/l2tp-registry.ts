#!/usr/bin/env node
// l2tp-registry: folds l2tp.events into connection tables, writes snapshots, answers queries
// over NATS (l2tp.registry.*), serves Prometheus metrics.
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { pino } from 'pino'
import {
  connectNats,
  DEFAULT_LIVENESS,
  DEFAULT_REGISTRY,
  ensureTopics,
  makeKafka,
  RegistryService,
} from '../shell/index.js'
import { serveMetrics } from '../shell/metrics-server.js'
import { registryMonitor } from '../shell/registry-metrics.js'
import { reasonOf, StartFailure, step } from '../shell/start-errors.js'
import { brokersFromEnv, CREDENTIALS_HELP, kafkaSecurityFromEnv, natsFromEnv, topicsFromEnv } from './env.js'

const HELP = `l2tp-registry: the event-sourced registry of L2TP tunnels and sessions

Usage: l2tp-registry [options]

Options:
  --group ID            Kafka consumer group (instances of one group share partitions; default l2tp-registry)
  --snapshot-events N   snapshot dirty endpoints every N events (default ${DEFAULT_REGISTRY.snapshotEveryEvents})
  --snapshot-ms MS      ... and at least every MS milliseconds (default ${DEFAULT_REGISTRY.snapshotEveryMs})
  --metrics-port PORT   Prometheus metrics on 127.0.0.1:PORT/metrics, liveness /healthz, readiness
                        /readyz (folding, Kafka and NATS reachable) (default 0 = off)
  --detection-ms MS     an owner whose lease is not renewed for MS (registry clock) shows as gone
                        (default ${DEFAULT_LIVENESS.detectionMs}, the standby's default; at least 1)
  --log-level LEVEL     trace|debug|info|warn|error (default info)
  --help                this text

Environment: KAFKA_BROKERS (default 127.0.0.1:19092), NATS_URL (default nats://127.0.0.1:14222),
L2TP_TOPIC_PREFIX. The NATS identity is registry (dev: from infra's store).
${CREDENTIALS_HELP}
Exit codes: 0 ok, 1 runtime failure (broker unreachable, port taken), 2 bad arguments.`

/** A bad argument: one line, exit 2. Operational failures (StartFailure): one line, exit 1. */
class Usage extends Error {}

const int = (name: string, v: string | undefined, d: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (v === undefined) return d
  const n = Number(v)
  if (v.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= max) return n
  throw new Usage(`--${name} must be a whole number in 0..${max}, got '${v}'`)
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error']

const main = async () => {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          group: { type: 'string' },
          'snapshot-events': { type: 'string' },
          'snapshot-ms': { type: 'string' },
          'metrics-port': { type: 'string' },
          'detection-ms': { type: 'string' },
          'log-level': { type: 'string' },
          help: { type: 'boolean' },
        },
        strict: true,
      })
    } catch (e) {
      throw new Usage(`${reasonOf(e)} (see --help)`)
    }
  })()
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  // Every argument is checked before anything connects or binds.
  const level = values['log-level'] ?? 'info'
  if (!LEVELS.includes(level)) throw new Usage(`--log-level must be one of ${LEVELS.join('|')}`)
  const port = int('metrics-port', values['metrics-port'], 0, 65535)
  const options = {
    groupId: values.group ?? DEFAULT_REGISTRY.groupId,
    snapshotEveryEvents: int(
      'snapshot-events',
      values['snapshot-events'],
      DEFAULT_REGISTRY.snapshotEveryEvents,
    ),
    snapshotEveryMs: int('snapshot-ms', values['snapshot-ms'], DEFAULT_REGISTRY.snapshotEveryMs),
    liveness: {
      ...DEFAULT_LIVENESS,
      detectionMs: Math.max(1, int('detection-ms', values['detection-ms'], DEFAULT_LIVENESS.detectionMs)),
    },
  }
  const log = pino({ level, base: { service: 'l2tp-registry' } })
  const names = topicsFromEnv()
  const brokers = brokersFromEnv()
  await step(`Kafka (${brokers.join(',')}) unreachable`, () =>
    ensureTopics({ brokers, names, ...kafkaSecurityFromEnv() }),
  )
  const deps = { kafka: makeKafka({ brokers, clientId: 'l2tp-registry', ...kafkaSecurityFromEnv() }), names }
  const service = new RegistryService(deps, { ...options, warn: (m) => log.warn(m) })
  await step('folding l2tp.events', () => service.start())
  log.info({ snapshots: service.loadedSnapshots, topics: names }, 'registry folding l2tp.events')
  const nats = natsFromEnv('registry')
  const nc = await connectNats({ ...nats, name: 'l2tp-registry' })()
  if (E.isLeft(nc)) throw new StartFailure(`NATS (${nats.servers}) unreachable: ${nc.left.detail}`)
  await service.serveQueries(nc.right)
  const monitor = registryMonitor(service, deps, nc.right)
  if (port > 0) {
    await step(`metrics port 127.0.0.1:${port}`, () =>
      serveMetrics(monitor.registry, port, '127.0.0.1', monitor.health),
    )
    log.info({ port }, 'metrics on /metrics, health on /healthz and /readyz')
  }
  let stopping = false
  const stop = async () => {
    if (stopping) process.exit(1) // a second signal: stop now, without waiting
    stopping = true
    monitor.stop()
    await service.stop()
    await nc.right.close()
  }
  const stopThenExit = () =>
    stop().then(
      () => process.exit(0),
      (e: unknown) =>
        process.stderr.write(`l2tp-registry: stopping failed: ${reasonOf(e)}\n`, () => process.exit(1)),
    )
  process.on('SIGINT', () => void stopThenExit())
  process.on('SIGTERM', () => void stopThenExit())
}

main().catch((e: unknown) => {
  const code = e instanceof Usage ? 2 : 1
  process.exitCode = code
  // Exit once the line is written: open broker clients would keep the process alive.
  process.stderr.write(`l2tp-registry: ${reasonOf(e)}\n`, () => process.exit(code))
})
