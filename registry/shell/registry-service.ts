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
import { describeInfraError, messageOf } from './errors.js'
import { type EventFolder, startEventFolder } from './event-folder.js'
import type { EventLogDeps } from './event-log.js'
import { DEFAULT_FORENSICS_CONCURRENCY, forensicsGate } from './forensics.js'
import { asOfTables, endpointsPage, gated, tablePageOf, timelinePage } from './listings.js'
import { DEFAULT_LIVENESS, type LivenessOptions, LivenessWatch } from './liveness.js'
import { endpoint, type NatsConnection, openKvReader, serve } from './nats-port.js'
import { DirtySet, flushDirty, loadSnapshots, type SnapshotGap, writeSnapshots } from './snapshots.js'

export interface RegistryOptions {
  readonly groupId: string
  readonly snapshotEveryEvents: number
  readonly snapshotEveryMs: number
  /** Owner liveness from the lease bucket (polled once the queries are served). */
  readonly liveness?: LivenessOptions
  /** Problems worth an operator's attention (failed snapshot writes, snapshot gaps). */
  readonly warn?: (message: string) => void
  /** `as-of` and `timeline` reads at once; past it they answer `Busy` (default 4). */
  readonly forensicsConcurrency?: number
}

export const DEFAULT_REGISTRY: RegistryOptions = {
  groupId: 'l2tp-registry',
  snapshotEveryEvents: 10_000,
  snapshotEveryMs: 5000,
}

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
  private readonly dirty = new DirtySet()
  private sinceSnapshot = 0
  private snapshotting: Promise<void> = Promise.resolve()
  private queued: Promise<void> | null = null
  snapshotsWritten = 0
  snapshotFailures = 0
  loadedSnapshots = 0
  /** Partitions whose log start (cut by retention) no snapshot covers: reported, not ready. */
  snapshotGaps: readonly SnapshotGap[] = []

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
    this.snapshotGaps = loaded.gaps
    for (const g of loaded.gaps) this.options.warn?.(`snapshot gap, partition ${g.partition}: ${g.detail}`)
    this.producer = this.deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await this.producer.connect()
    this.folder = await startEventFolder(this.deps, {
      groupId: this.options.groupId,
      fromBeginning: true,
      fleet: loaded.fleet,
      startOffsets: loaded.startOffsets,
      onEvent: (e, partition) => {
        this.dirty.add(partition, e.endpointId)
        if (++this.sinceSnapshot >= this.options.snapshotEveryEvents) void this.snapshot()
      },
    })
    this.timer = setInterval(() => void this.snapshot(), this.options.snapshotEveryMs)
  }

  /** Snapshots every endpoint with events since its last snapshot, partition by partition. */
  snapshot(): Promise<void> {
    // One run waiting at most: it takes whatever is dirty when it starts.
    if (this.queued !== null) return this.queued
    // The chain never rejects: a failure is counted and the next interval runs all the same.
    this.snapshotting = this.snapshotting
      .then(async () => {
        this.queued = null
        const folder = this.folder
        const producer = this.producer
        if (folder === null || producer === null) return
        this.sinceSnapshot = 0
        const run = await flushDirty(this.dirty, folder, (p, next, tables) =>
          writeSnapshots(producer, this.deps, p, next, tables),
        )
        this.snapshotsWritten += run.written
        this.snapshotFailures += run.failures.length
        for (const f of run.failures)
          this.options.warn?.(
            `snapshot write of partition ${f.partition} failed (retried next interval): ${f.detail}`,
          )
      })
      .catch((e: unknown) => {
        this.snapshotFailures++
        this.options.warn?.(`snapshot run failed (retried next interval): ${messageOf(e)}`)
      })
    this.queued = this.snapshotting
    return this.snapshotting
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
    const gate = forensicsGate(this.options.forensicsConcurrency ?? DEFAULT_FORENSICS_CONCURRENCY)
    this.service = await serve(
      nc,
      { name: SERVICE_REGISTRY, version: '0.1.0', description: 'L2TP connection tables and forensics' },
      [
        endpoint({
          name: 'endpoints',
          subject: registrySubjects.endpoints,
          request: ListEndpoints,
          handle: async (r) =>
            endpointsPage(this.fleet, r, (t) => summaryOf(t, this.liveness?.of(t) ?? null)),
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
          handle: (r) =>
            gated(gate, async () => {
              const t = await asOf(r.endpointId, r.asOf, r.cursor === undefined, Date.now())
              return E.isLeft(t)
                ? errorReply('Unavailable', describeInfraError(t.left))
                : tablePageOf(t.right, r)
            }),
        }),
        endpoint({
          name: 'timeline',
          subject: registrySubjects.timeline,
          request: GetTimeline,
          handle: (r) => gated(gate, () => timelinePage(this.deps, r)),
        }),
      ],
    )
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    await this.service?.stop().catch(() => undefined)
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
