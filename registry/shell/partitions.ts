// The l2tp.events partitions one registry instance holds, and their lifecycle (issue 10, Build 2):
// on assign, fence the partition's snapshot writer, restore its tables from snapshot + tail,
// answer for it once caught up; on revoke, stop answering, drop its tables, positions and
// writer. kafkajs has no revoke callback: every group join names this member's partitions, and
// a revoke is a partition no longer among them. Shell.
import * as E from 'fp-ts/lib/Either.js'
import { type Offset, type Served, unsafe } from '../../contracts/index.js'
import type { Fleet } from '../domain/index.js'
import { messageOf } from './errors.js'
import type { AssignmentHooks, PartitionControl } from './event-folder.js'
import { type EventLogDeps, partitionFor } from './event-log.js'
import { compareOffsets, partitionOffsets } from './partition-reader.js'
import { loadSnapshots, openSnapshotWriter, type SnapshotGap, type SnapshotWriter } from './snapshots.js'

/** restoring: paused, reading snapshots; catching-up: folding the tail; serving: answers queries. */
export type Phase = 'restoring' | 'catching-up' | 'serving'

interface Held {
  phase: Phase
  readonly token: number
  writer: SnapshotWriter | null
  /** Asked to answer (NATS subjects being subscribed or subscribed). */
  answering: boolean
  /** Stops answering for the partition (its NATS subjects), once it answers. */
  unserve: (() => Promise<void>) | null
  /** The partition's committed end when its restore read the snapshots: caught up past it. */
  target: Offset | null
}

export interface PartitionHost {
  readonly deps: EventLogDeps
  readonly groupId: string
  readonly instance: string
  readonly fleet: () => Fleet
  readonly positions: () => Map<number, Offset>
  /** Starts answering for a partition; returns how to stop, or null when there is no NATS yet. */
  readonly serve: (partition: number) => Promise<(() => Promise<void>) | null>
  /** A partition was revoked: forget what the host keeps for it (dirty sets). */
  readonly dropped: (partition: number) => void
  readonly warn: (msg: string) => void
  /** Partitions whose log start no snapshot covers, found while restoring them. */
  readonly gaps?: (gaps: readonly SnapshotGap[]) => void
}

const RETRY_MS = 1000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class Partitions {
  private readonly held = new Map<number, Held>()
  private readonly partitionOfId = new Map<string, number>()
  private tokens = 0
  private control: PartitionControl | null = null
  private joined = false
  private stopped = false
  /** Tables restored from snapshots, over every assignment. */
  loadedSnapshots = 0

  constructor(
    private readonly host: PartitionHost,
    /** Partitions of l2tp.events (endpoint -> partition, the producer's murmur2). */
    readonly count: number,
  ) {}

  readonly hooks: AssignmentHooks = {
    onJoin: (ps, control) => this.onJoin(ps, control),
    folds: (p) => {
      const phase = this.held.get(p)?.phase
      return phase === 'catching-up' || phase === 'serving'
    },
    onBatchEnd: (p, last) => {
      const h = this.held.get(p)
      if (h?.phase === 'catching-up' && h.target !== null && BigInt(last) + 1n >= BigInt(h.target))
        this.startServing(p, h)
    },
  }

  partitionOf(endpointId: string): number {
    let p = this.partitionOfId.get(endpointId)
    if (p === undefined) {
      p = partitionFor(endpointId, this.count)
      this.partitionOfId.set(endpointId, p)
    }
    return p
  }

  /** The partitions of this member (whatever their phase): lag and snapshots count only these. */
  get assigned(): readonly number[] {
    return [...this.held.keys()].sort((a, b) => a - b)
  }

  phaseOf(p: number): Phase | null {
    return this.held.get(p)?.phase ?? null
  }

  writerOf(p: number): SnapshotWriter | null {
    const h = this.held.get(p)
    return h?.phase === 'restoring' ? null : (h?.writer ?? null)
  }

  /** The writer of `p` was fenced: a newer owner has it; snapshots of `p` stop here. */
  fenced(p: number): void {
    const h = this.held.get(p)
    if (h === undefined) return
    this.host.warn(`snapshot writer of partition ${p} fenced by a newer owner: no more snapshots of it here`)
    void h.writer?.close().catch(() => undefined)
    h.writer = null
  }

  served(p: number): Served {
    const pos = this.host.positions().get(p)
    return {
      instance: this.host.instance,
      partition: p,
      lastApplied: pos === undefined || pos === '0' ? null : unsafe.offset((BigInt(pos) - 1n).toString()),
    }
  }

  /** Resolves once the first join happened and no partition is still restoring. */
  async settled(timeoutMs = 120_000): Promise<void> {
    const until = Date.now() + timeoutMs
    while (!this.joined || [...this.held.values()].some((h) => h.phase === 'restoring')) {
      if (this.stopped) return
      if (Date.now() > until) throw new Error('partitions not restored in time')
      await sleep(25)
    }
  }

  /** NATS is there: answer for every partition already caught up. */
  serveAll(): void {
    for (const [p, h] of this.held) if (h.phase === 'serving' && !h.answering) this.startServing(p, h)
  }

  async stop(): Promise<void> {
    // Stop answering and writing; the tables stay readable (the process is going away).
    this.stopped = true
    for (const h of this.held.values()) {
      await h.unserve?.().catch(() => undefined)
      await h.writer?.close().catch(() => undefined)
      h.unserve = null
      h.writer = null
    }
    this.held.clear()
  }

  private onJoin(ps: readonly number[], control: PartitionControl): void {
    this.control = control
    const next = new Set(ps)
    for (const [p, h] of [...this.held]) if (!next.has(p)) void this.revoke(p, h)
    const fresh: Array<readonly [number, number]> = []
    for (const p of next) {
      const h = this.held.get(p)
      if (h === undefined) {
        const token = ++this.tokens
        this.held.set(p, {
          phase: 'restoring',
          token,
          writer: null,
          answering: false,
          unserve: null,
          target: null,
        })
        control.pause(p)
        fresh.push([p, token])
        continue
      }
      // Kept: go on from where the fold is (a join resets the fetch position to the group's).
      const at = this.host.positions().get(p)
      if (h.phase !== 'restoring' && at !== undefined) control.seek(p, at)
    }
    this.joined = true
    if (fresh.length > 0) void this.restore(fresh)
  }

  private async revoke(p: number, h: Held): Promise<void> {
    if (this.held.get(p) !== h) return
    this.held.delete(p)
    this.host.dropped(p)
    this.host.positions().delete(p)
    const fleet = this.host.fleet()
    for (const id of [...fleet.keys()]) if (this.partitionOf(id) === p) fleet.delete(id)
    const unserve = h.unserve
    h.unserve = null
    h.answering = false
    await unserve?.().catch(() => undefined)
    await h.writer?.close().catch(() => undefined)
    h.writer = null
  }

  private current(p: number, token: number): Held | null {
    const h = this.held.get(p)
    return h !== undefined && h.token === token && !this.stopped ? h : null
  }

  /** Fence, read the snapshots, seek, fold the tail: retried until done or revoked. */
  private async restore(fresh: ReadonlyArray<readonly [number, number]>): Promise<void> {
    let todo = fresh
    while (todo.length > 0) {
      try {
        await this.restoreOnce(todo)
        return
      } catch (e) {
        this.host.warn(`restoring partitions ${todo.map(([p]) => p).join(',')}: ${messageOf(e)}; retrying`)
        await sleep(RETRY_MS)
        todo = todo.filter(([p, token]) => this.current(p, token) !== null)
      }
    }
  }

  private async restoreOnce(todo: ReadonlyArray<readonly [number, number]>): Promise<void> {
    // Fence every older writer of these partitions first: nothing older commits after this read.
    // (All at once: each is a connection, InitProducerId and an abort; none waits for another.)
    await Promise.all(
      todo.map(async ([p, token]) => {
        const h = this.current(p, token)
        if (h !== null && h.writer === null)
          h.writer = await openSnapshotWriter(this.host.deps, this.host.groupId, p)
      }),
    )
    const ends = await partitionOffsets(this.host.deps, this.host.deps.names.events)()
    if (E.isLeft(ends)) throw new Error(ends.left.detail)
    const mine = new Set(todo.map(([p]) => p))
    const loaded = await loadSnapshots(this.host.deps, (p) => mine.has(p))
    const gaps = loaded.gaps.filter((g) => mine.has(g.partition))
    if (gaps.length > 0) this.host.gaps?.(gaps)
    const fleet = this.host.fleet()
    for (const [p, token] of todo) {
      const h = this.current(p, token)
      if (h === null) continue
      for (const [id, t] of loaded.fleet)
        if (this.partitionOf(id) === p) {
          fleet.set(id, t)
          this.loadedSnapshots++
        }
      const start = loaded.startOffsets.get(p) ?? unsafe.offset('0')
      this.host.positions().set(p, start)
      h.target = ends.right.find((o) => o.partition === p)?.high ?? start
      this.control?.seek(p, start)
      if (compareOffsets(start, h.target) >= 0) this.startServing(p, h)
      else h.phase = 'catching-up'
      this.control?.resume(p)
    }
  }

  private startServing(p: number, h: Held): void {
    h.phase = 'serving'
    if (h.answering) return
    h.answering = true
    void this.host
      .serve(p)
      .then(async (unserve) => {
        if (unserve === null) {
          h.answering = false
          return
        }
        if (this.held.get(p) === h && h.unserve === null) h.unserve = unserve
        else await unserve()
      })
      .catch((e: unknown) => this.host.warn(`answering for partition ${p}: ${messageOf(e)}`))
  }
}
