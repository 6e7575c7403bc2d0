// Why an endpoint refuses new tunnels and sessions, as the shell reads it: the reasons live in
// the engine (engine.refusing, set and lifted one by one with SetRefuseNew, so an outbox that
// drains never lifts an operator's drain); this view orders them for replies and metrics. Shell.
import type { RefusalReason } from '../../contracts/index.js'
import type { Input } from '../engine/types.js'

export type { RefusalReason }

/** The reason a refused set-up is counted under when several hold (most deliberate first). */
const PRIORITY: readonly RefusalReason[] = ['shutdown', 'release', 'drain', 'outbox']

export class Refusal {
  constructor(
    private readonly reasons: () => ReadonlySet<RefusalReason>,
    private readonly feed: (i: Input) => void,
  ) {}

  /** Sets or lifts one reason (an engine input). */
  set(reason: RefusalReason, on: boolean): void {
    this.feed({ _tag: 'SetRefuseNew', reason, on })
  }

  has(reason: RefusalReason): boolean {
    return this.reasons().has(reason)
  }

  /** The reasons that hold now, most deliberate first. */
  get list(): RefusalReason[] {
    const now = this.reasons()
    return PRIORITY.filter((r) => now.has(r))
  }

  get primary(): RefusalReason | null {
    return this.list[0] ?? null
  }
}
