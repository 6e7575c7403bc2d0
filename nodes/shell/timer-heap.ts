// A min-heap of (deadline, tunnel id) with lazy invalidation: one Node timer serves tens of
// thousands of tunnels. Shell helper (no clock of its own: callers pass times).

interface Entry {
  readonly at: number
  readonly id: number
}

export class TimerHeap {
  private readonly heap: Entry[] = []
  private readonly current = new Map<number, number>()

  /** Sets (or clears, with null) the deadline of `id`. */
  set(id: number, at: number | null): void {
    if (at === null) {
      this.current.delete(id)
      return
    }
    if (this.current.get(id) === at) return
    this.current.set(id, at)
    this.push({ at, id })
  }

  get size(): number {
    return this.current.size
  }

  /** The earliest live deadline, or null. */
  peek(): number | null {
    this.dropStale()
    return this.heap[0]?.at ?? null
  }

  /** Removes and returns the ids whose deadline is <= now. */
  due(now: number): number[] {
    const out: number[] = []
    for (;;) {
      this.dropStale()
      const top = this.heap[0]
      if (top === undefined || top.at > now) return out
      this.pop()
      this.current.delete(top.id)
      out.push(top.id)
    }
  }

  private dropStale(): void {
    for (let top = this.heap[0]; top !== undefined && this.current.get(top.id) !== top.at; top = this.heap[0])
      this.pop()
  }

  private push(e: Entry): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if ((h[p] as Entry).at <= e.at) break
      h[i] = h[p] as Entry
      i = p
    }
    h[i] = e
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()
    if (last === undefined || h.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      const mAt = () => (m === i ? last.at : (h[m] as Entry).at)
      if (l < h.length && (h[l] as Entry).at < mAt()) m = l
      if (r < h.length && (h[r] as Entry).at < mAt()) m = r
      if (m === i) break
      h[i] = h[m] as Entry
      i = m
    }
    h[i] = last
  }
}
