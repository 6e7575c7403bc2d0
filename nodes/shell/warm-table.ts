// Hot standby: while this node stands by for an endpoint, it keeps the endpoint's table warm
// (snapshot + tail once, then following the endpoint's partition and folding its events with
// the registry's evolve), so that a takeover reads only the tail written since. Shell.
import * as E from 'fp-ts/lib/Either.js'
import { type EndpointId, parseEvent } from '../../contracts/index.js'
import { type EndpointTable, evolve } from '../../registry/index.js'
import {
  describeInfraError,
  type EventLogDeps,
  endpointPartition,
  followPartition,
  loadEndpointSnapshot,
  loadPartitionCheckpoint,
  type PartitionFollower,
  rehydrateEndpoint,
} from '../../registry/shell/index.js'

type Log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void

export interface WarmTake {
  readonly table: EndpointTable
  /** Events folded after the takeover began (the tail). */
  readonly tailEvents: number
}

export class WarmTable {
  private table: EndpointTable | null = null
  private follower: PartitionFollower | null = null
  private running = false
  /** Raised by every stop: a warm-up of an older generation gives up. */
  private gen = 0
  private retry: NodeJS.Timeout | null = null
  private folded = 0

  constructor(
    private readonly deps: EventLogDeps,
    private readonly endpointId: EndpointId,
    private readonly log: Log,
    private readonly retryMs = 5000,
  ) {}

  /** True once the table is loaded and followed. */
  get ready(): boolean {
    return this.table !== null && this.follower !== null
  }

  /** Starts warming (again); a failure is logged and retried, never thrown. */
  start(): void {
    if (this.running) return
    this.running = true
    void this.warm()
  }

  private later(gen: number): void {
    this.retry = setTimeout(() => {
      this.retry = null
      if (this.running && gen === this.gen) void this.warm()
    }, this.retryMs)
  }

  private async warm(): Promise<void> {
    const gen = this.gen
    const r = await rehydrateEndpoint(
      this.deps,
      this.endpointId,
      loadEndpointSnapshot,
      loadPartitionCheckpoint,
    )().catch((e: unknown) => E.left({ _tag: 'KafkaFailed' as const, op: 'warm', detail: String(e) }))
    if (!this.running || gen !== this.gen) return
    if (E.isLeft(r)) {
      this.log('warn', 'hot standby: table not loaded yet; a takeover now reads it cold', {
        endpoint: this.endpointId,
        error: describeInfraError(r.left),
      })
      return this.later(gen)
    }
    const table = r.right.table
    const id = this.endpointId
    const follower = await followPartition(
      this.deps,
      this.deps.names.events,
      r.right.partition,
      r.right.nextOffset,
      (records) => {
        for (const rec of records) {
          if (rec.key !== id || rec.value === null) continue
          const e = parseEvent(rec.value)
          if (E.isRight(e) && e.right.endpointId === id) {
            evolve(table, e.right)
            this.folded++
          }
        }
      },
    ).catch((e: unknown) => {
      this.log('warn', 'hot standby: cannot follow the partition', { endpoint: id, error: String(e) })
      return null
    })
    if (follower === null) return this.later(gen)
    if (!this.running || gen !== this.gen) return void (await follower.stop())
    this.table = table
    this.follower = follower
    this.log('info', 'hot standby: table warm', {
      endpoint: id,
      tunnels: table.tunnels.size,
      from: r.right.nextOffset,
    })
  }

  /**
   * After the old owner is fenced: reads up to the partition's committed end (the tail) and
   * hands the table over, or null when not warm or the tail is not read in `timeoutMs` (the
   * caller then rehydrates cold). Warming stops either way.
   */
  async take(timeoutMs: number): Promise<WarmTake | null> {
    const follower = this.follower
    const table = this.table
    if (follower === null || table === null) {
      await this.stop()
      return null
    }
    const before = this.folded
    const where = await endpointPartition(this.deps, this.endpointId)()
    const reached = E.isRight(where) ? await follower.reach(where.right.high, timeoutMs) : false
    const tailEvents = this.folded - before
    await this.stop()
    return reached ? { table, tailEvents } : null
  }

  async stop(): Promise<void> {
    this.running = false
    this.gen++
    if (this.retry !== null) clearTimeout(this.retry)
    this.retry = null
    const f = this.follower
    this.follower = null
    this.table = null
    await f?.stop()
  }
}
