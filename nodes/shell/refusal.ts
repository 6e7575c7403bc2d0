// Why an endpoint refuses new tunnels and sessions. The reasons are kept apart (an outbox that
// drains must not lift an operator's drain, an undrain must not lift outbox pressure); the
// engine only sees whether any reason holds (engine.refuseNew). Shell.
import type { RefusalReason } from '../../contracts/index.js'

export type { RefusalReason }

/** The reason a refused set-up is counted under when several hold (most deliberate first). */
const PRIORITY: readonly RefusalReason[] = ['shutdown', 'release', 'drain', 'outbox']

export class Refusal {
  private readonly reasons = new Set<RefusalReason>()

  constructor(private readonly apply: (refuse: boolean) => void) {}

  set(reason: RefusalReason, on: boolean): void {
    if (on) this.reasons.add(reason)
    else this.reasons.delete(reason)
    this.apply(this.reasons.size > 0)
  }

  has(reason: RefusalReason): boolean {
    return this.reasons.has(reason)
  }

  /** The reasons that hold now, most deliberate first. */
  get list(): RefusalReason[] {
    return PRIORITY.filter((r) => this.reasons.has(r))
  }

  get primary(): RefusalReason | null {
    return this.list[0] ?? null
  }
}
