// Where the dev/test brokers live: ports, folders, client addresses. Environment overrides.
// Used by infra/cli.ts, the test global setup and the programs' defaults.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${name} must be a port number, got '${raw}'`)
  return n
}

export const infraDir = dirname(fileURLToPath(import.meta.url))

export interface InfraConfig {
  readonly kafkaPort: number
  readonly kafkaControllerPort: number
  readonly natsPort: number
  readonly natsMonitorPort: number
  readonly dataDir: string
  readonly runDir: string
  readonly kafkaLibDir: string
}

export const loadInfraConfig = (): InfraConfig => ({
  kafkaPort: envInt('L2TP_KAFKA_PORT', 19092),
  kafkaControllerPort: envInt('L2TP_KAFKA_CONTROLLER_PORT', 19093),
  natsPort: envInt('L2TP_NATS_PORT', 14222),
  natsMonitorPort: envInt('L2TP_NATS_MONITOR_PORT', 18222),
  dataDir: process.env.L2TP_INFRA_DATA ?? join(infraDir, '.data'),
  runDir: join(infraDir, '.run'),
  kafkaLibDir: join(infraDir, 'kafka', 'lib'),
})

export const kafkaBrokers = (c: InfraConfig = loadInfraConfig()): string[] =>
  (process.env.KAFKA_BROKERS ?? `127.0.0.1:${c.kafkaPort}`).split(',').map((s) => s.trim())

export const natsUrl = (c: InfraConfig = loadInfraConfig()): string =>
  process.env.NATS_URL ?? `nats://127.0.0.1:${c.natsPort}`

/** The kinds of program that connect to NATS (DESIGN.md §6); identities: infra/identities.ts. */
export type NatsRole = 'node' | 'registry' | 'operator' | 'auditor'
