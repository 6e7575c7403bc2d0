// The l2tp-registry service: a consumer group folding l2tp.events into live tables, snapshots
// to l2tp.snapshots every N events or T ms, restart from snapshot + tail, dead letters, NATS
// queries (services API) and Prometheus metrics.
import * as E from 'fp-ts/lib/Either.js'
import type { Producer } from 'kafkajs'
import type { Service } from 'nats'
import {
  type EndpointSummary,
  errorReply,
  GetEndpoint,
  GetSession,
  GetStateAsOf,
  GetTimeline,
  GetTunnel,
  LEASE_BUCKET,
  ListEndpoints,
  type Liveness,
  type Offset,
  okReply,
  registrySubjects,
  SERVICE_REGISTRY,
} from '../../contracts/index.js'
import { type EndpointTable, type Fleet, sessionCount, sessionView, tunnelView } from '../domain/index.js'
import { describeInfraError } from './errors.js'
import { type EventFolder, startEventFolder } from './event-folder.js'
import type { EventLogDeps } from './event-log.js'
import { asOfTables, endpointsPage, tablePageOf, timelinePage } from './listings.js'
import { DEFAULT_LIVENESS, type LivenessOptions, LivenessWatch } from './liveness.js'
import { openKvReader } from './nats-kv.js'
import { stopService } from './nats-lifecycle.js'
import { endpoint, type NatsConnection, serve } from './nats-port.js'
import { loadSnapshots, writeSnapshots } from './snapshots.js'

export interface RegistryOptions {
  readonly groupId: string
  readonly snapshotEveryEvents: number
  readonly snapshotEveryMs: number
  /** Owner liveness from the lease bucket (polled once the queries are served). */
  readonly liveness?: LivenessOptions
}

export const DEFAULT_REGISTRY: RegistryOptions = {
  groupId: 'l2tp-registry',
  snapshotEveryEvents: 10_000,
  snapshotEveryMs: 5000,
}

/** Liveness while the lease bucket cannot be read (not there, or no right to read it). */
const NOT_WATCHED: Liveness = { state: 'unknown', since: null, leaseNode: null, leaseEpoch: null }

export const summaryOf = (t: EndpointTable, liveness: Liveness | null = null): EndpointSummary => ({
  endpointId: t.endpointId,
  epoch: t.epoch,
  owner: t.owner,
  active: t.active,
  role: t.role,
  address: t.address,
  tunnels: t.tunnels.size,
  sessions: sessionCount(t),
  consistent: t.consistent,
  liveness,
})

export class RegistryService {
  private folder: EventFolder | null = null
  private producer: Producer | null = null
  private timer: NodeJS.Timeout | null = null
  private service: Service | null = null
  private liveness: LivenessWatch | null = null
  private readonly dirty = new Map<number, Set<string>>()
  private sinceSnapshot = 0
  private snapshotting: Promise<void> = Promise.resolve()
  snapshotsWritten = 0
  loadedSnapshots = 0

  constructor(
    readonly deps: EventLogDeps,
    readonly options: RegistryOptions = DEFAULT_REGISTRY,
  ) {}

  get fleet(): Fleet {
    return this.folder?.fleet ?? new Map()
  }

  /** Next offset to fold, per l2tp.events partition. */
  get positions(): ReadonlyMap<number, Offset> {
    return this.folder?.positions ?? new Map()
  }

  get stats() {
    return this.folder?.stats
  }

  async start(): Promise<void> {
    const loaded = await loadSnapshots(this.deps)
    this.loadedSnapshots = loaded.snapshots
    this.producer = this.deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await this.producer.connect()
    this.folder = await startEventFolder(this.deps, {
      groupId: this.options.groupId,
      fromBeginning: true,
      fleet: loaded.fleet,
      startOffsets: loaded.startOffsets,
      onEvent: (e, partition) => {
        let set = this.dirty.get(partition)
        if (set === undefined) {
          set = new Set()
          this.dirty.set(partition, set)
        }
        set.add(e.endpointId)
        if (++this.sinceSnapshot >= this.options.snapshotEveryEvents) void this.snapshot()
      },
    })
    this.timer = setInterval(() => void this.snapshot(), this.options.snapshotEveryMs)
  }

  /** Snapshots every endpoint with events since its last snapshot, partition by partition. */
  snapshot(): Promise<void> {
    this.snapshotting = this.snapshotting.then(async () => {
      const folder = this.folder
      const producer = this.producer
      if (folder === null || producer === null) return
      this.sinceSnapshot = 0
      for (const [partition, ids] of this.dirty) {
        const nextOffset: Offset | undefined = folder.positions.get(partition)
        if (nextOffset === undefined || ids.size === 0) continue
        const tables = [...ids]
          .map((id) => folder.fleet.get(id))
          .filter((t): t is EndpointTable => t !== undefined)
        this.dirty.set(partition, new Set())
        await writeSnapshots(producer, this.deps, partition, nextOffset, tables)
        this.snapshotsWritten += tables.length
      }
    })
    return this.snapshotting.catch(() => undefined)
  }

  /** Serves the registry queries under the l2tp-registry micro service. */
  async serveQueries(nc: NatsConnection): Promise<void> {
    const table = (id: string) => this.fleet.get(id)
    const kv = await openKvReader(nc, LEASE_BUCKET)()
    if (E.isRight(kv)) {
      this.liveness = new LivenessWatch(kv.right, () => this.fleet, this.options.liveness ?? DEFAULT_LIVENESS)
      this.liveness.start()
    }
    const asOf = asOfTables(this.deps)
    this.service = await serve(
      nc,
      { name: SERVICE_REGISTRY, version: '0.1.0', description: 'L2TP connection tables and forensics' },
      [
        endpoint({
          name: 'endpoints',
          subject: registrySubjects.endpoints,
          request: ListEndpoints,
          handle: async (r) =>
            endpointsPage(this.fleet, r, (t) => summaryOf(t, this.liveness?.of(t) ?? NOT_WATCHED)),
        }),
        endpoint({
          name: 'endpoint',
          subject: registrySubjects.endpoint,
          request: GetEndpoint,
          handle: async (r) => {
            const t = table(r.endpointId)
            return t === undefined ? errorReply('NotFound', `no endpoint ${r.endpointId}`) : tablePageOf(t, r)
          },
        }),
        endpoint({
          name: 'tunnel',
          subject: registrySubjects.tunnel,
          request: GetTunnel,
          handle: async (r) => {
            // One tunnel's view, not the whole table's (an endpoint may hold 10^5 sessions).
            const tunnel = table(r.endpointId)?.tunnels.get(r.localTunnelId)
            return tunnel === undefined
              ? errorReply('NotFound', `no tunnel ${r.endpointId}/${r.localTunnelId}`)
              : okReply(tunnelView(tunnel))
          },
        }),
        endpoint({
          name: 'session',
          subject: registrySubjects.session,
          request: GetSession,
          handle: async (r) => {
            const s = table(r.endpointId)?.tunnels.get(r.localTunnelId)?.sessions.get(r.localSessionId)
            return s === undefined
              ? errorReply('NotFound', `no session ${r.endpointId}/${r.localTunnelId}/${r.localSessionId}`)
              : okReply(sessionView(s))
          },
        }),
        endpoint({
          name: 'as-of',
          subject: registrySubjects.asOf,
          request: GetStateAsOf,
          handle: async (r) => {
            const t = await asOf(r.endpointId, r.asOf, r.cursor === undefined, Date.now())
            return E.isLeft(t)
              ? errorReply('Unavailable', describeInfraError(t.left))
              : tablePageOf(t.right, r)
          },
        }),
        endpoint({
          name: 'timeline',
          subject: registrySubjects.timeline,
          request: GetTimeline,
          handle: async (r) => timelinePage(this.deps, r),
        }),
      ],
    )
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    await stopService(this.service)
    this.service = null
    await this.liveness?.stop()
    this.liveness = null
    await this.snapshotting.catch(() => undefined)
    await this.folder?.stop()
    await this.producer?.disconnect()
    this.folder = null
    this.producer = null
  }
}
