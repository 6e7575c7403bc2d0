// A fake monotonic clock with timers and a fake JetStream KV bucket (compare-and-set by
// revision) whose writes can fail, hang, or lose their reply: the lease rules run on these.
import * as E from 'fp-ts/lib/Either.js'
import type { LeaseClock } from '../../nodes/shell/lease.js'
import type { CasResult, InfraError, KvBucket } from '../../registry/shell/index.js'

interface Timer {
  readonly at: number
  readonly fn: () => void
  live: boolean
}

/** Lets every pending promise continuation run (no clock is read). */
export const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r))
}

export class FakeClock implements LeaseClock {
  t = 0
  private timers: Timer[] = []
  readonly now = () => this.t
  readonly wallNow = () => 1_700_000_000_000 + this.t
  readonly after = (ms: number, fn: () => void) => {
    const timer: Timer = { at: this.t + Math.max(0, ms), fn, live: true }
    this.timers.push(timer)
    return () => {
      timer.live = false
    }
  }

  /** Moves time on by `ms`, firing due timers in order and letting their work settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms
    await settle()
    for (;;) {
      this.timers = this.timers.filter((x) => x.live)
      const next = this.timers.reduce<Timer | null>((a, x) => (a === null || x.at < a.at ? x : a), null)
      if (next === null || next.at > end) break
      this.t = Math.max(this.t, next.at)
      next.live = false
      next.fn()
      await settle()
    }
    this.t = end
    await settle()
  }

  /** Advances in steps, calling `each` after every step (to note when things happened). */
  async run(ms: number, step: number, each: () => void): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      await this.advance(Math.min(step, ms - done))
      each()
    }
  }

  /** Moves time on without firing any timer: a process that was stopped and goes on. */
  jump(ms: number): void {
    this.t += ms
  }
}

export type WriteMode = 'ok' | 'fail' | 'hang' | 'lost-reply'

export class FakeKv implements KvBucket {
  private revision = 0
  readonly entries = new Map<string, { value: Uint8Array; revision: number }>()
  writes: WriteMode = 'ok'
  readsFail = false
  /** Every compare-and-set asked, with the writer's node (from the value) and the outcome. */
  readonly log: Array<{ node: string; released: boolean; outcome: string }> = []
  private hung: Array<() => void> = []

  private apply(key: string, value: Uint8Array, expected: number): CasResult {
    const cur = this.entries.get(key)
    if ((cur?.revision ?? 0) !== expected) return { _tag: 'Conflict', detail: 'wrong last sequence' }
    this.revision++
    this.entries.set(key, { value, revision: this.revision })
    return { _tag: 'Written', revision: this.revision }
  }

  readonly get: KvBucket['get'] = (key) => async () => {
    if (this.readsFail) return E.left<InfraError>({ _tag: 'NatsFailed', op: 'kv.get', detail: 'away' })
    return E.right(this.entries.get(key) ?? null)
  }

  readonly keys: KvBucket['keys'] = () => async () => E.right([...this.entries.keys()])

  readonly compareAndSet: KvBucket['compareAndSet'] = (key, value, expected) => async () => {
    const v = JSON.parse(new TextDecoder().decode(value)) as { node: string; released: boolean }
    const note = (outcome: string) => this.log.push({ node: v.node, released: v.released, outcome })
    const fail = E.left<InfraError>({ _tag: 'NatsFailed', op: 'kv.compareAndSet', detail: 'timeout' })
    switch (this.writes) {
      case 'fail':
        note('failed')
        return fail
      case 'lost-reply':
        note(this.apply(key, value, expected)._tag)
        return fail
      case 'hang':
        note('hung')
        return new Promise((resolve) =>
          this.hung.push(() => resolve(E.right(this.apply(key, value, expected)))),
        )
      case 'ok': {
        const r = this.apply(key, value, expected)
        note(r._tag)
        return E.right(r)
      }
    }
  }

  /** Lets the hung writes land now, in order. */
  releaseHung(): void {
    const h = this.hung
    this.hung = []
    for (const f of h) f()
  }

  value(key: string): { node: string; epoch: number; released: boolean } | null {
    const e = this.entries.get(key)
    return e === undefined ? null : JSON.parse(new TextDecoder().decode(e.value))
  }
}
