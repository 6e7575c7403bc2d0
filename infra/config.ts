// Where the dev/test brokers live: ports, folders, client addresses. Environment overrides.
// Used by infra/cli.ts, the test global setup and the programs' defaults. Single-node is the
// default; L2TP_CLUSTER=1 (or `infra/up --cluster`) selects the 3+3 cluster (infra/README.md).
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

/** One Kafka process (KRaft combined broker + controller). */
export interface KafkaNode {
  readonly id: number
  readonly port: number
  readonly controllerPort: number
}

/** One nats-server; `routePort` null on a single server (no cluster block). */
export interface NatsServer {
  readonly id: number
  readonly name: string
  readonly port: number
  readonly monitorPort: number
  readonly routePort: number | null
}

export interface InfraConfig {
  readonly cluster: boolean
  /** The first broker's and server's ports (single-node: the only ones). */
  readonly kafkaPort: number
  readonly kafkaControllerPort: number
  readonly natsPort: number
  readonly natsMonitorPort: number
  readonly kafkaNodes: readonly KafkaNode[]
  readonly natsServers: readonly NatsServer[]
  readonly dataDir: string
  readonly runDir: string
  readonly kafkaLibDir: string
}

/** Cluster size: 3 brokers (replication 3, min.insync.replicas 2) and 3 nats-servers (R3). */
export const CLUSTER_SIZE = 3

export const clusterRequested = (): boolean => process.env.L2TP_CLUSTER === '1'

const singleConfig = (): InfraConfig => {
  const kafkaPort = envInt('L2TP_KAFKA_PORT', 19092)
  const kafkaControllerPort = envInt('L2TP_KAFKA_CONTROLLER_PORT', 19093)
  const natsPort = envInt('L2TP_NATS_PORT', 14222)
  const natsMonitorPort = envInt('L2TP_NATS_MONITOR_PORT', 18222)
  return {
    cluster: false,
    kafkaPort,
    kafkaControllerPort,
    natsPort,
    natsMonitorPort,
    kafkaNodes: [{ id: 1, port: kafkaPort, controllerPort: kafkaControllerPort }],
    natsServers: [{ id: 1, name: 'nats', port: natsPort, monitorPort: natsMonitorPort, routePort: null }],
    dataDir: process.env.L2TP_INFRA_DATA ?? join(infraDir, '.data'),
    runDir: join(infraDir, '.run'),
    kafkaLibDir: join(infraDir, 'kafka', 'lib'),
  }
}

/**
 * The cluster: ports apart from single-node's (19092/19093/14222/18222) and from 4222/9092, data
 * beside the single-node data (`<L2TP_INFRA_DATA>-cluster`, default infra/.data-cluster) unless
 * L2TP_CLUSTER_DATA says otherwise; pid files inside it (infra/.run may be shared by checkouts).
 */
const clusterConfig = (): InfraConfig => {
  const kafkaBase = envInt('L2TP_CLUSTER_KAFKA_PORT', 29092)
  const controllerBase = envInt('L2TP_CLUSTER_KAFKA_CONTROLLER_PORT', 29192)
  const natsBase = envInt('L2TP_CLUSTER_NATS_PORT', 24222)
  const routeBase = envInt('L2TP_CLUSTER_NATS_ROUTE_PORT', 26222)
  const monitorBase = envInt('L2TP_CLUSTER_NATS_MONITOR_PORT', 28222)
  const ids = Array.from({ length: CLUSTER_SIZE }, (_, i) => i + 1)
  const dataDir =
    process.env.L2TP_CLUSTER_DATA ??
    (process.env.L2TP_INFRA_DATA === undefined
      ? join(infraDir, '.data-cluster')
      : `${process.env.L2TP_INFRA_DATA.replace(/\/+$/, '')}-cluster`)
  return {
    cluster: true,
    kafkaPort: kafkaBase,
    kafkaControllerPort: controllerBase,
    natsPort: natsBase,
    natsMonitorPort: monitorBase,
    kafkaNodes: ids.map((id) => ({ id, port: kafkaBase + id - 1, controllerPort: controllerBase + id - 1 })),
    natsServers: ids.map((id) => ({
      id,
      name: `nats-${id}`,
      port: natsBase + id - 1,
      monitorPort: monitorBase + id - 1,
      routePort: routeBase + id - 1,
    })),
    dataDir,
    runDir: join(dataDir, 'run'),
    kafkaLibDir: join(infraDir, 'kafka', 'lib'),
  }
}

export const loadInfraConfig = (): InfraConfig => (clusterRequested() ? clusterConfig() : singleConfig())

/** KAFKA_BROKERS (a comma list), else every broker of the selected infra. */
export const kafkaBrokers = (c: InfraConfig = loadInfraConfig()): string[] =>
  (process.env.KAFKA_BROKERS ?? c.kafkaNodes.map((n) => `127.0.0.1:${n.port}`).join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')

/** NATS_URL (a comma list of servers), else every server of the selected infra. */
export const natsUrl = (c: InfraConfig = loadInfraConfig()): string =>
  process.env.NATS_URL ?? c.natsServers.map((s) => `nats://127.0.0.1:${s.port}`).join(',')

/** The servers of a NATS_URL comma list, as nats.js takes them. */
export const natsServerList = (url: string): string[] =>
  url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')

/** The kinds of program that connect to NATS (DESIGN.md §6); identities: infra/identities.ts. */
export type NatsRole = 'node' | 'registry' | 'operator' | 'auditor'
