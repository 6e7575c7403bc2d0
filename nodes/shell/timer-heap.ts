// A min-heap of (deadline, tunnel id) with lazy invalidation: one Node timer serves tens of
// thousands of tunnels. Two parallel typed arrays, so arming a timer allocates nothing; stale
// entries are dropped at the top, and the heap is rebuilt when they outnumber the live ones.
// Shell helper (no clock of its own: callers pass times).

const INITIAL = 64

export class TimerHeap {
  private at = new Float64Array(INITIAL)
  private ids = new Float64Array(INITIAL)
  private n = 0
  private readonly current = new Map<number, number>()

  /** Sets (or clears, with null) the deadline of `id`. */
  set(id: number, at: number | null): void {
    if (at === null) {
      this.current.delete(id)
      return
    }
    if (this.current.get(id) === at) return
    this.current.set(id, at)
    if (this.n >= 2 * this.current.size + INITIAL) this.compact()
    this.push(at, id)
  }

  get size(): number {
    return this.current.size
  }

  /** Heap entries, live and stale (for tests: bounded by the compaction). */
  get entries(): number {
    return this.n
  }

  /** The earliest live deadline, or null. */
  peek(): number | null {
    this.dropStale()
    return this.n === 0 ? null : (this.at[0] as number)
  }

  /** Removes and returns the ids whose deadline is <= now. */
  due(now: number): number[] {
    const out: number[] = []
    for (;;) {
      this.dropStale()
      if (this.n === 0 || (this.at[0] as number) > now) return out
      const id = this.ids[0] as number
      this.pop()
      this.current.delete(id)
      out.push(id)
    }
  }

  private live(i: number): boolean {
    return this.current.get(this.ids[i] as number) === this.at[i]
  }

  private dropStale(): void {
    while (this.n > 0 && !this.live(0)) this.pop()
  }

  /** Rebuilds the heap from the live deadlines only. */
  private compact(): void {
    this.n = 0
    for (const [id, at] of this.current) this.push(at, id)
  }

  private push(at: number, id: number): void {
    if (this.n === this.at.length) {
      const a = new Float64Array(this.n * 2)
      a.set(this.at)
      this.at = a
      const b = new Float64Array(this.n * 2)
      b.set(this.ids)
      this.ids = b
    }
    let i = this.n++
    while (i > 0) {
      const p = (i - 1) >> 1
      const pAt = this.at[p] as number
      if (pAt <= at) break
      this.at[i] = pAt
      this.ids[i] = this.ids[p] as number
      i = p
    }
    this.at[i] = at
    this.ids[i] = id
  }

  private pop(): void {
    const n = --this.n
    if (n <= 0) return
    const at = this.at[n] as number
    const id = this.ids[n] as number
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const m = r < n && (this.at[r] as number) < (this.at[l] as number) ? r : l
      const mAt = this.at[m] as number
      if (mAt >= at) break
      this.at[i] = mAt
      this.ids[i] = this.ids[m] as number
      i = m
    }
    this.at[i] = at
    this.ids[i] = id
  }
}
