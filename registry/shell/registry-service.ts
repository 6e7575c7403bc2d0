// The l2tp-registry service: a consumer group folding l2tp.events into live tables, snapshots
// to l2tp.snapshots every N events or T ms, restart from snapshot + tail, dead letters, NATS
// queries (services API) and Prometheus metrics.
import { hostname } from 'node:os'
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import type { Service } from 'nats'
import {
  type EndpointSummary,
  LEASE_BUCKET,
  type Liveness,
  type Offset,
  SERVICE_REGISTRY,
} from '../../contracts/index.js'
import { type EndpointTable, type Fleet, sessionCount } from '../domain/index.js'
import { isFencing, messageOf } from './errors.js'
import { type EventFolder, startEventFolder } from './event-folder.js'
import { type EventLogDeps, partitionCount } from './event-log.js'
import { DEFAULT_FORENSICS_CONCURRENCY, forensicsGate } from './forensics.js'
import { asOfTables } from './listings.js'
import { DEFAULT_LIVENESS, type LivenessOptions, LivenessWatch } from './liveness.js'
import { openKvReader } from './nats-kv.js'
import { stopService } from './nats-lifecycle.js'
import { type Endpoint, type NatsConnection, serve } from './nats-port.js'
import { partitionEndpoints, routerEndpoints } from './partition-queries.js'
import { Partitions } from './partitions.js'
import { DirtySet, flushDirty, type SnapshotGap } from './snapshots.js'

export interface RegistryOptions {
  readonly groupId: string
  readonly snapshotEveryEvents: number
  readonly snapshotEveryMs: number
  /** Owner liveness from the lease bucket (polled once the queries are served). */
  readonly liveness?: LivenessOptions
  /** This instance in replies (`served`) and in its services' metadata; default host-pid-random. */
  readonly instance?: string
  /** Problems worth an operator's attention (fenced writers, failed restores and snapshot writes, gaps); default stderr. */
  readonly warn?: (msg: string) => void
  /** `as-of` and `timeline` reads at once; past it they answer `Busy` (default 4). */
  readonly forensicsConcurrency?: number
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
  private partitions: Partitions | null = null
  private nc: NatsConnection | null = null
  private timer: NodeJS.Timeout | null = null
  private service: Service | null = null
  private liveness: LivenessWatch | null = null
  private readonly dirty = new DirtySet()
  private sinceSnapshot = 0
  private snapshotting: Promise<void> = Promise.resolve()
  private readonly fleetTables: Fleet = new Map()
  /** The partition endpoints this instance answers, by subject (the router calls them directly). */
  private readonly local = new Map<string, Endpoint<t.Mixed, unknown>>()
  private readonly asOf: ReturnType<typeof asOfTables>
  readonly instance: string
  snapshotsWritten = 0
  private queued: Promise<void> | null = null
  snapshotFailures = 0
  /** Partitions whose log start (cut by retention) no snapshot covers: reported, not ready. */
  snapshotGaps: readonly SnapshotGap[] = []
  private readonly gate: ReturnType<typeof forensicsGate>

  constructor(
    readonly deps: EventLogDeps,
    readonly options: RegistryOptions = DEFAULT_REGISTRY,
  ) {
    this.instance =
      options.instance ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`
    this.asOf = asOfTables(deps)
    this.gate = forensicsGate(options.forensicsConcurrency ?? DEFAULT_FORENSICS_CONCURRENCY)
  }

  private warn(msg: string): void {
    ;(this.options.warn ?? ((m: string) => process.stderr.write(`l2tp-registry: ${m}\n`)))(msg)
  }

  /** Gaps found restoring partitions: reported (warn, metric, readiness), never papered over. */
  private noteGaps(gaps: readonly SnapshotGap[]): void {
    for (const g of gaps) this.warn(`snapshot gap, partition ${g.partition}: ${g.detail}`)
    const known = new Set(this.snapshotGaps.map((g) => g.partition))
    this.snapshotGaps = [...this.snapshotGaps, ...gaps.filter((g) => !known.has(g.partition))]
  }

  /** The tables of the partitions this instance holds (and folds). */
  get fleet(): Fleet {
    return this.fleetTables
  }

  /** Next offset to fold, per l2tp.events partition held. */
  get positions(): ReadonlyMap<number, Offset> {
    return this.folder?.positions ?? new Map()
  }

  /** The l2tp.events partitions this instance holds (restoring ones included). */
  get assigned(): readonly number[] {
    return this.partitions?.assigned ?? []
  }

  /** Tables restored from snapshots (over every assignment so far). */
  get loadedSnapshots(): number {
    return this.partitions?.loadedSnapshots ?? 0
  }

  get stats() {
    return this.folder?.stats
  }

  /** Whether partition `p` is held and answers queries (restored and caught up). */
  serving(p: number): boolean {
    return this.partitions?.phaseOf(p) === 'serving'
  }

  async start(): Promise<void> {
    const count = await partitionCount(this.deps, this.deps.names.events)()
    if (E.isLeft(count)) throw new Error(count.left.detail)
    const warn = this.options.warn ?? ((m: string) => process.stderr.write(`l2tp-registry: ${m}\n`))
    const partitions = new Partitions(
      {
        deps: this.deps,
        groupId: this.options.groupId,
        instance: this.instance,
        fleet: () => this.fleetTables,
        positions: () => this.folder?.positions ?? new Map(),
        serve: (p) => this.servePartition(p),
        dropped: (p) => this.dirty.drop(p),
        gaps: (gs) => this.noteGaps(gs),
        warn,
      },
      count.right,
    )
    this.partitions = partitions
    this.folder = await startEventFolder(this.deps, {
      groupId: this.options.groupId,
      fromBeginning: true,
      fleet: this.fleetTables,
      assignment: partitions.hooks,
      onEvent: (e, partition) => {
        this.dirty.add(partition, e.endpointId)
        if (++this.sinceSnapshot >= this.options.snapshotEveryEvents) void this.snapshot()
      },
    })
    // The first assignment restored (snapshot read, tail being folded) before start returns.
    await partitions.settled()
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
        const partitions = this.partitions
        if (folder === null || partitions === null) return
        this.sinceSnapshot = 0
        // Only partitions this instance holds and has restored, through their fenced writer.
        const run = await flushDirty(
          this.dirty,
          folder,
          async (p, next, tables) => {
            const writer = partitions.writerOf(p)
            if (writer === null) return
            try {
              await writer.write(next, tables)
            } catch (e) {
              if (!isFencing(e)) throw e
              partitions.fenced(p)
            }
          },
          (p) => partitions.writerOf(p) !== null,
        )
        this.snapshotsWritten += run.written
        this.snapshotFailures += run.failures.length
        for (const f of run.failures)
          this.warn(`snapshot write of partition ${f.partition} failed (retried next interval): ${f.detail}`)
      })
      .catch((e: unknown) => {
        this.snapshotFailures++
        this.warn(`snapshot run failed (retried next interval): ${messageOf(e)}`)
      })
    this.queued = this.snapshotting
    return this.snapshotting
  }

  /** Serves the public registry queries (the router) and, as they come, the partitions held. */
  async serveQueries(nc: NatsConnection): Promise<void> {
    const partitions = this.partitions
    if (partitions === null) throw new Error('serveQueries before start')
    const kv = await openKvReader(nc, LEASE_BUCKET)()
    if (E.isRight(kv)) {
      this.liveness = new LivenessWatch(kv.right, () => this.fleet, this.options.liveness ?? DEFAULT_LIVENESS)
      this.liveness.start()
    }
    this.service = await serve(
      nc,
      {
        name: SERVICE_REGISTRY,
        version: '0.2.0',
        description: 'L2TP connection tables and forensics',
        metadata: { role: 'router', group: this.options.groupId, instance: this.instance },
      },
      routerEndpoints(nc, {
        groupId: this.options.groupId,
        eventsTopic: this.deps.names.events,
        count: partitions.count,
        partitionOf: (id) => partitions.partitionOf(id),
        forwardMs: 3000,
        forensicMs: 25_000,
        local: (subject) => this.local.get(subject),
        ...(this.options.warn === undefined ? {} : { warn: this.options.warn }),
      }),
    )
    this.nc = nc
    partitions.serveAll()
  }

  /** Answers for one partition on its own subjects (a service instance per partition held). */
  private async servePartition(p: number): Promise<(() => Promise<void>) | null> {
    const nc = this.nc
    const partitions = this.partitions
    if (nc === null || partitions === null) return null
    const endpoints = partitionEndpoints(this.options.groupId, {
      deps: this.deps,
      partition: p,
      fleet: () => this.fleetTables,
      partitionOf: (id) => partitions.partitionOf(id),
      served: () => partitions.served(p),
      summaryOf: (t) => summaryOf(t, this.liveness?.of(t) ?? NOT_WATCHED),
      asOf: this.asOf,
      gate: this.gate,
    })
    const srv = await serve(
      nc,
      {
        name: SERVICE_REGISTRY,
        version: '0.2.0',
        description: `L2TP connection tables of l2tp.events partition ${p}`,
        metadata: {
          role: 'partition',
          group: this.options.groupId,
          instance: this.instance,
          partition: `${p}`,
        },
      },
      endpoints,
    )
    for (const e of endpoints) this.local.set(e.subject, e)
    return async () => {
      for (const e of endpoints) this.local.delete(e.subject)
      await srv.stop().catch((e: unknown) => this.options.warn?.(messageOf(e)))
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    await stopService(this.service)
    this.service = null
    await this.liveness?.stop()
    this.liveness = null
    await this.snapshotting.catch(() => undefined)
    await this.folder?.stop()
    await this.partitions?.stop()
    this.folder = null
    this.partitions = null
    this.nc = null
  }
}
