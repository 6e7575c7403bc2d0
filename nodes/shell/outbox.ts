// The ordered event outbox of one endpoint (DESIGN.md §3): the L2TP loop pushes and never waits;
// a flusher appends small transactions through the endpoint's transactional writer, in order,
// one at a time. While Kafka is away events wait (bounded); near full, the endpoint refuses new
// work; a fenced writer stops the endpoint (another owner took over). Transactions are cut by
// bytes under the broker's limit; an event too large for any transaction is dead-lettered.
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { encodeEventBinary, type L2tpEvent, type Offset, unsafe } from '../../contracts/index.js'
import {
  type Appended,
  describeInfraError,
  type EndpointWriter,
  type InfraError,
} from '../../registry/shell/index.js'

export interface OutboxOptions {
  /** Most events held while Kafka is away. */
  readonly capacity: number
  /** Refuse new tunnels/sessions above this many pending (and accept again below half of it). */
  readonly highWater: number
  /** Events per transaction. */
  readonly batch: number
  /**
   * Bytes per transaction (record values, keys and per-record overhead): well under the
   * events topic's max.message.bytes (EVENTS_MAX_MESSAGE_BYTES, 1 MiB), which bounds one
   * produce batch of a partition. An event above it alone is dead-lettered.
   */
  readonly batchBytes?: number
}

export const DEFAULT_OUTBOX: OutboxOptions = {
  capacity: 200_000,
  highWater: 150_000,
  batch: 500,
  batchBytes: 512 * 1024,
}

/** Bytes one event takes in a record batch: its binary value, its key, and record overhead. */
export const recordBytes = (e: L2tpEvent): number =>
  encodeEventBinary(e).byteLength + Buffer.byteLength(e.endpointId) + 32

/** A broker's refusal of a batch or record for its size (kafkajs names and texts). */
const isTooLarge = (detail: string): boolean =>
  /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large|larger than/i.test(detail)

const offsetAfter = (first: Offset, count: number): Offset =>
  unsafe.offset((BigInt(first) + BigInt(count)).toString())

export interface OutboxHooks {
  /** Called with true when the outbox crosses the high-water mark, false when it drained back. */
  readonly onPressure: (full: boolean) => void
  readonly onFenced: (e: InfraError) => void
  /** An event no transaction can carry: kept on the dead-letter topic instead (best effort). */
  readonly deadLetter?: (e: L2tpEvent, bytes: number, reason: string) => Promise<void>
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void
}

export class Outbox {
  private readonly queue: L2tpEvent[] = []
  private readonly sizes: number[] = []
  private head = 0
  /** Lowered when the broker refuses a batch for its size; never below one event. */
  private bytesCap: number
  private writer: EndpointWriter | null = null
  private flushing = false
  private stopped = false
  private pressure = false
  private failures = 0
  /**
   * Every append of ours that may have committed lies at or after this offset of the
   * endpoint's partition (null until the first writer opens).
   */
  private scanFrom: Offset | null = null
  /** An append failed without being fenced: what it committed is unknown until checked. */
  private unsure = false
  appended = 0
  /** Events found committed after an ambiguous failure, so not sent again. */
  recoveredAfterAmbiguous = 0
  dropped = 0
  /** Events too large for the event log, sent to the dead-letter topic instead. */
  deadLettered = 0

  constructor(
    private readonly open: () => TE.TaskEither<InfraError, EndpointWriter>,
    private readonly options: OutboxOptions,
    private readonly hooks: OutboxHooks,
  ) {
    this.bytesCap = options.batchBytes ?? DEFAULT_OUTBOX.batchBytes ?? 512 * 1024
  }

  get pending(): number {
    return this.queue.length - this.head
  }

  /** When the oldest event still waiting was recorded (null: nothing waits). */
  get oldestPendingAt(): number | null {
    return this.queue[this.head]?.at ?? null
  }

  /** True while the last attempt to reach the event log failed. */
  get unreachable(): boolean {
    return this.failures > 0
  }

  /** Takes an event; never blocks. Over capacity it is counted as dropped and logged (the engine refuses new work well before). */
  push(e: L2tpEvent): void {
    if (this.stopped) return
    if (this.pending >= this.options.capacity) {
      this.dropped++
      this.hooks.log('error', 'event outbox over capacity: event dropped', { type: e.type, seq: e.seq })
      return
    }
    this.queue.push(e)
    this.sizes.push(recordBytes(e))
    this.checkPressure()
    void this.flush()
  }

  private checkPressure(): void {
    const p = this.pending
    if (!this.pressure && p >= this.options.highWater) {
      this.pressure = true
      this.hooks.log('warn', 'event outbox near full: refusing new tunnels and sessions', { pending: p })
      this.hooks.onPressure(true)
    } else if (this.pressure && p < this.options.highWater / 2) {
      this.pressure = false
      this.hooks.log('info', 'event outbox drained: accepting new tunnels and sessions', { pending: p })
      this.hooks.onPressure(false)
    }
  }

  /** Appends until empty; one transaction in flight at a time keeps the order. */
  private async flush(): Promise<void> {
    if (this.flushing || this.stopped) return
    this.flushing = true
    try {
      while (this.pending > 0 && !this.stopped) {
        // close() may clear this.writer while an append is in flight: use our own reference.
        const writer = this.writer ?? (await this.openWriter())
        if (writer === null) continue
        if (this.unsure && !(await this.skipCommitted(writer))) continue
        await this.appendNext(writer)
      }
    } finally {
      this.flushing = false
    }
  }

  /** A writer, or null after a failed open (backed off) or when closed meanwhile. */
  private async openWriter(): Promise<EndpointWriter | null> {
    const w = await this.open()()
    if (E.isLeft(w)) {
      await this.backoff(w.left)
      return null
    }
    if (this.stopped) {
      // Closed while it opened: nobody else will close this one.
      await w.right.close().catch(() => undefined)
      return null
    }
    this.writer = w.right
    this.scanFrom ??= w.right.openedAt
    return w.right
  }

  /** One transaction of what fits from the head, and what its outcome means for the queue. */
  private async appendNext(writer: EndpointWriter): Promise<void> {
    const n = this.takeable()
    if (n === 0)
      return this.deadLetterHead(
        `event of ${this.sizes[this.head]} bytes exceeds the transaction limit of ${this.bytesCap}`,
      )
    const r = await writer.append(this.queue.slice(this.head, this.head + n))()
    if (E.isRight(r)) return this.onAppended(r.right, n)
    if (r.left._tag === 'Fenced') return this.onFencedWriter(r.left)
    if (isTooLarge(r.left.detail)) {
      // The broker's limit is below ours: halve the cap; a lone event it refuses is dead-lettered.
      if (n === 1) await this.deadLetterHead(`refused by the broker: ${r.left.detail}`)
      else this.bytesCap = Math.max(1, Math.floor(this.bytesCap / 2))
      this.hooks.log('warn', 'event batch refused for its size; cutting smaller', {
        events: n,
        bytesCap: this.bytesCap,
      })
      return
    }
    // The transaction was aborted, or committed with its response lost: reopen the writer
    // (InitProducerId settles the transaction either way) and read what landed before
    // resending, so the log never holds an event twice.
    this.unsure = true
    await writer.close().catch(() => undefined)
    if (this.writer === writer) this.writer = null
    await this.backoff(r.left)
  }

  private onAppended(a: Appended, n: number): void {
    this.scanFrom = offsetAfter(a.firstOffset, a.count)
    this.head += n
    this.appended += n
    if (this.failures > 0) this.hooks.log('info', 'event log reachable again', { pending: this.pending })
    this.failures = 0
    this.compact()
    this.checkPressure()
  }

  private onFencedWriter(e: InfraError): void {
    this.stopped = true
    this.hooks.log('error', 'event writer fenced: another owner took the endpoint over', { detail: e.detail })
    this.hooks.onFenced(e)
  }

  /**
   * After an ambiguous failure: drops from the head the events the partition already holds
   * committed. False when the read failed (the writer is reopened after a pause).
   */
  private async skipCommitted(writer: EndpointWriter): Promise<boolean> {
    const head = this.queue[this.head]
    if (head === undefined || this.scanFrom === null) {
      this.unsure = false
      return true
    }
    const r = await writer.committedSeqSince(this.scanFrom, head.epoch)()
    if (E.isLeft(r)) {
      await writer.close().catch(() => undefined)
      if (this.writer === writer) this.writer = null
      await this.backoff(r.left)
      return false
    }
    const last = r.right
    let skipped = 0
    while (last !== null && this.pending > 0) {
      const e = this.queue[this.head]
      if (e === undefined || e.epoch !== head.epoch || e.seq > last) break
      this.head++
      skipped++
    }
    this.unsure = false
    if (skipped > 0) {
      this.appended += skipped
      this.recoveredAfterAmbiguous += skipped
      this.hooks.log('info', 'events of a failed append were committed after all: not sent again', {
        events: skipped,
        lastSeq: last,
      })
      this.compact()
      this.checkPressure()
    }
    return true
  }

  /** Events from the head that fit one transaction, by count and bytes (0: the head alone is too large). */
  private takeable(): number {
    const end = Math.min(this.queue.length, this.head + this.options.batch)
    let bytes = 0
    let i = this.head
    for (; i < end; i++) {
      const b = this.sizes[i] ?? 0
      if (bytes + b > this.bytesCap) break
      bytes += b
    }
    return i - this.head
  }

  private async deadLetterHead(reason: string): Promise<void> {
    const e = this.queue[this.head]
    const bytes = this.sizes[this.head] ?? 0
    this.head++
    this.compact()
    if (e === undefined) return
    this.deadLettered++
    this.hooks.log('error', 'event too large for the event log: sent to the dead-letter topic', {
      type: e.type,
      seq: e.seq,
      bytes,
      reason,
    })
    await this.hooks
      .deadLetter?.(e, bytes, reason)
      .catch((err: unknown) =>
        this.hooks.log('error', 'dead letter not written', { seq: e.seq, error: String(err) }),
      )
    this.checkPressure()
  }

  private compact(): void {
    if (this.head <= 10_000) return
    this.queue.splice(0, this.head)
    this.sizes.splice(0, this.head)
    this.head = 0
  }

  private async backoff(e: InfraError): Promise<void> {
    this.failures++
    if (this.failures === 1 || this.failures % 20 === 0) {
      this.hooks.log('warn', 'event log unreachable; events wait in the outbox', {
        pending: this.pending,
        error: describeInfraError(e),
      })
    }
    await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(this.failures, 6))))
  }

  /** Resolves once everything pushed so far is appended (or the outbox stopped). */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs
    while (this.pending > 0 && !this.stopped && Date.now() < until) {
      void this.flush()
      await new Promise((r) => setTimeout(r, 20))
    }
    return this.pending === 0
  }

  async close(): Promise<void> {
    this.stopped = true
    await this.writer?.close().catch(() => undefined)
    this.writer = null
  }
}
