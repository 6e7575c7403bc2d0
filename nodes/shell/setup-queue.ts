// New tunnel requests waiting for the engine, fair across sources (issue 12, overload limits):
// one FIFO per source host, served round robin, so a flood from many addresses cannot starve a
// legitimate LAC that asks for one tunnel now and then. Bounded in all and per source; a request
// over a bound is shed and counted (the peer retransmits it, RFC 2661 §5.8). When the whole queue
// is full, a source with fewer waiting pushes out the newest request of the busiest source
// (longest-queue drop), so flooders cannot fill the queue against a newcomer. Shell data, no I/O.
import type { Address } from '../../contracts/index.js'

export interface WaitingSetup {
  readonly from: Address
  readonly bytes: Uint8Array
}

export class FairSetupQueue {
  /** Sources with requests waiting, in turn order (a Map keeps insertion order: re-inserting a source sends it to the back). */
  private readonly bySource = new Map<string, WaitingSetup[]>()
  private size = 0
  /** The source seen with the most waiting (kept approximately, O(1) per push). */
  private heaviest: string | null = null
  /** Requests shed: over `max` in all, or over `perSource` from one source. */
  shed = 0

  constructor(
    readonly max: number,
    readonly perSource: number,
  ) {}

  get length(): number {
    return this.size
  }

  /** Takes a request; false (shed) when a bound is reached. */
  push(w: WaitingSetup): boolean {
    const host = w.from.host
    const q = this.bySource.get(host)
    const mine = q?.length ?? 0
    if (mine >= this.perSource || (this.size >= this.max && !this.pushOutFor(mine))) {
      this.shed++
      return false
    }
    if (q === undefined) this.bySource.set(host, [w])
    else q.push(w)
    this.size++
    const heavy = this.heaviest === null ? undefined : this.bySource.get(this.heaviest)
    if (heavy === undefined || mine + 1 > heavy.length) this.heaviest = host
    return true
  }

  /** Full: drops the newest request of the busiest source if it has more waiting than `mine` + 1. */
  private pushOutFor(mine: number): boolean {
    const host = this.heaviest
    const heavy = host === null ? undefined : this.bySource.get(host)
    if (host === null || heavy === undefined || heavy.length <= mine + 1) return false
    heavy.pop()
    this.size--
    this.shed++
    if (heavy.length === 0) this.bySource.delete(host)
    return true
  }

  /** The oldest request of the source whose turn it is; that source goes to the back. */
  next(): WaitingSetup | undefined {
    const first = this.bySource.entries().next()
    if (first.done === true) return undefined
    const [host, q] = first.value
    const w = q.shift()
    this.bySource.delete(host)
    if (q.length > 0) this.bySource.set(host, q)
    if (w !== undefined) this.size--
    return w
  }

  clear(): void {
    this.bySource.clear()
    this.heaviest = null
    this.size = 0
  }
}

/** Requests handed to the engine per turn of the event loop. */
const PER_TURN = 64

/**
 * A fair queue drained into the engine: on the check phase of the event loop (after every
 * datagram libuv read in this poll), `PER_TURN` at a time, and only while `wait()` says the
 * engine's admission bucket holds a token (else it sleeps until one refills).
 */
export class PacedQueue {
  readonly queue: FairSetupQueue
  private scheduled = false
  private timer: NodeJS.Timeout | null = null

  constructor(
    max: number,
    perSource: number,
    private readonly wait: () => number,
    private readonly deliver: (w: WaitingSetup) => boolean,
  ) {
    this.queue = new FairSetupQueue(max, perSource)
  }

  push(w: WaitingSetup): void {
    if (this.queue.push(w)) this.schedule(0)
  }

  stop(): void {
    this.queue.clear()
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.scheduled = false
  }

  private schedule(ms: number): void {
    if (this.scheduled) return
    this.scheduled = true
    if (ms <= 0) setImmediate(this.drain)
    else this.timer = setTimeout(this.drain, ms)
  }

  private readonly drain = (): void => {
    this.scheduled = false
    this.timer = null
    for (let n = 0; n < PER_TURN && this.queue.length > 0; n++) {
      const ms = this.wait()
      if (ms > 0) return this.schedule(ms)
      const w = this.queue.next()
      if (w !== undefined && !this.deliver(w)) return this.stop()
    }
    // Inputs are synchronous: nothing was queued meanwhile, the rest waits for the next turn.
    if (this.queue.length > 0) this.schedule(0)
  }
}
