// Reliable delivery (RFC 2661 §5.8, App. A, App. B) on a fake clock: each test names its L2 id.
import { describe, expect, it } from 'vitest'
import {
  type Channel,
  DEFAULT_CHANNEL,
  openChannel,
  receive,
  resetChannel,
  revive,
  send,
  tick,
} from '../../../nodes/control/channel.js'
import { acknowledges, classify, seqDiff } from '../../../nodes/control/seq.js'
import { type ControlMessage, decodePacket, encodeControl } from '../../../nodes/wire/index.js'

const hello = (ch: Channel) => (ns: number, nr: number) =>
  encodeControl({ tunnelId: ch.peerTunnelId, sessionId: 0, ns, nr, type: 6, avps: {} })

const msg = (ns: number, nr: number, type: number | null = 6): ControlMessage => ({
  tunnelId: 1,
  sessionId: 0,
  ns,
  nr,
  type,
  typeMandatory: true,
  avps: {},
  hidden: [],
  unknown: [],
  malformed: [],
})

const header = (b: Uint8Array) => {
  const r = decodePacket(b)
  if (r._tag === 'Left' || r.right._tag !== 'Control') throw new Error('bad')
  return r.right.msg
}

const fresh = (over = {}) => {
  const ch = openChannel({ ...DEFAULT_CHANNEL, ...over }, 0, 4)
  ch.peerTunnelId = 77
  return ch
}

describe('sequence arithmetic', () => {
  it.each([
    // [ns, nr, arrival]   (L2-37: the old window is the 32768 values ending at Nr-1)
    [10, 10, 'expected'],
    [9, 10, 'duplicate'],
    [40000, 10, 'duplicate'],
    [11, 10, 'early'],
    [32777, 10, 'early'],
    [32778, 10, 'duplicate'],
    [0, 65535, 'early'],
    [65535, 0, 'duplicate'],
    [15, 16, 'duplicate'],
    [32784, 16, 'duplicate'],
    [32783, 16, 'early'],
  ] as const)('L2-37: Ns %i against Nr %i is %s', (ns, nr, want) => {
    expect(classify(ns, nr)).toBe(want)
  })

  it('L2-33: Ns wraps 65535 -> 0 and acks work across the wrap', () => {
    expect(seqDiff(0, 65535)).toBe(1)
    expect(acknowledges(0, 65535)).toBe(true)
    expect(acknowledges(1, 65535)).toBe(true)
    expect(acknowledges(65535, 65535)).toBe(false)
  })
})

describe('channel', () => {
  it('L2-33: Ns starts at 0, rises by one per message and wraps 65535 -> 0', () => {
    const ch = fresh()
    ch.ns = 65534
    setWindow(ch, 8)
    ch.cwnd = 8
    const out = [0, 1, 2].flatMap(() => send(ch, hello(ch), 0))
    expect(out.map((b) => header(b).ns)).toEqual([65534, 65535, 0])
    expect(fresh().ns).toBe(0)
  })

  it('L2-34: a ZLB carries the next Ns but does not consume it', () => {
    const ch = fresh()
    receive(ch, msg(0, 0), 0)
    const zlb = tick(ch, 1000).out
    expect(zlb).toHaveLength(1)
    expect(header(zlb[0] as Uint8Array)).toMatchObject({ type: null, ns: 0, nr: 1 })
    const next = send(ch, hello(ch), 1000)
    expect(header(next[0] as Uint8Array).ns).toBe(0)
  })

  it('L2-35: Nr = last in-order Ns + 1; a received ZLB never advances it', () => {
    const ch = fresh()
    receive(ch, msg(0, 0), 0)
    receive(ch, msg(1, 0, null), 0) // ZLB with Ns 1
    receive(ch, msg(1, 0, null), 0)
    expect(ch.nr).toBe(1)
    receive(ch, msg(1, 0), 0)
    expect(ch.nr).toBe(2)
  })

  it('L2-36: a duplicate is not delivered again but is acknowledged again', () => {
    const ch = fresh()
    expect(receive(ch, msg(0, 0), 0).deliver).toHaveLength(1)
    tick(ch, 100)
    const again = receive(ch, msg(0, 0), 200)
    expect(again.deliver).toHaveLength(0)
    const ack = tick(ch, 300).out
    expect(ack.map((b) => header(b))).toMatchObject([{ type: null, nr: 1 }])
  })

  it('L2-38: an early message is held and delivered in order once the gap fills', () => {
    const ch = fresh()
    expect(receive(ch, msg(1, 0), 0).deliver).toHaveLength(0)
    const got = receive(ch, msg(0, 0), 1)
    expect(got.deliver.map((m) => m.ns)).toEqual([0, 1])
    expect(ch.nr).toBe(2)
  })

  it('L2-39, L2-40, L2-41, L2-42: retransmission keeps Ns, refreshes Nr, backs off 1,2,4,8,8 s, then the peer is dead', () => {
    const ch = fresh()
    send(ch, hello(ch), 0)
    const times: number[] = []
    const seen: ControlMessage[] = []
    let died = -1
    for (let t = 0; t <= 60_000 && died < 0; t += 50) {
      if (t === 2000) receive(ch, msg(0, 0), t) // a message arrives: Nr moves to 1
      const r = tick(ch, t)
      for (const b of r.out) {
        const h = header(b)
        if (h.type === 6) {
          times.push(t)
          seen.push(h)
        }
      }
      if (r.died) died = t
    }
    expect(times).toEqual([1000, 3000, 7000, 15000, 23000])
    expect(seen.map((m) => m.ns)).toEqual([0, 0, 0, 0, 0])
    expect(seen.map((m) => m.nr)).toEqual([0, 1, 1, 1, 1])
    expect(died).toBe(31000)
    expect(ch.dead).toBe(true)
  })

  it('L2-42: the retry count is configurable', () => {
    const ch = fresh({ maxRetransmits: 2 })
    send(ch, hello(ch), 0)
    let died = -1
    for (let t = 0; t <= 20_000 && died < 0; t += 100) if (tick(ch, t).died) died = t
    expect(died).toBe(7000)
  })

  it('L2-43: never more unacknowledged messages than the peer window (RWS=1)', () => {
    const ch = fresh()
    setWindow(ch, 1)
    const out = [1, 2, 3].flatMap(() => send(ch, hello(ch), 0))
    expect(out).toHaveLength(1)
    const more = receive(ch, msg(0, 1, null), 10).out // ZLB acking Ns 0
    expect(more.map((b) => header(b).ns)).toEqual([1])
  })

  it('L2-44, L2-47: with a window of 4, slow start sends 1, then 2, then 4 after acks', () => {
    const ch = fresh()
    setWindow(ch, 4)
    const first = Array.from({ length: 8 }, () => send(ch, hello(ch), 0)).flat()
    expect(first).toHaveLength(1) // cwnd starts at 1
    const a = receive(ch, msg(0, 1, null), 1).out
    expect(a).toHaveLength(2) // cwnd 2
    const b = receive(ch, msg(0, 3, null), 2).out
    expect(b).toHaveLength(4) // cwnd 4 = the peer's window
    expect(ch.inFlight).toHaveLength(4)
  })

  it('L2-47: a retransmission halves the threshold and restarts from one message', () => {
    const ch = fresh()
    setWindow(ch, 4)
    ch.cwnd = 4
    for (let i = 0; i < 4; i++) send(ch, hello(ch), 0)
    tick(ch, 1000)
    expect(ch.cwnd).toBe(1)
    expect(ch.ssthresh).toBe(2)
  })

  it('L2-46, L2-65: every message is acknowledged without delay beyond the ack timer; a ZLB is never answered', () => {
    const ch = fresh()
    receive(ch, msg(0, 0, null), 0)
    expect(tick(ch, 10_000).out).toHaveLength(0)
    receive(ch, msg(0, 0), 10_000)
    expect(tick(ch, 10_000 + DEFAULT_CHANNEL.ackDelayMs).out).toHaveLength(1)
  })

  it('L2-50: a HELLO (Session ID 0) goes out after the idle period', () => {
    const ch = fresh({ helloIntervalMs: 60_000 })
    expect(tick(ch, 59_000).out).toHaveLength(0)
    const out = tick(ch, 60_000).out
    expect(out.map((b) => header(b))).toMatchObject([{ type: 6, sessionId: 0, tunnelId: 77 }])
  })
})

const setWindow = (ch: Channel, w: number) => {
  ch.peerWindow = w
  ch.ssthresh = w
}

describe('effects never alias the channel (no Send shares bytes with the retransmit queue)', () => {
  it('L2-39: a retransmission carries the current Nr in a copy; the bytes sent first are unchanged', () => {
    const ch = fresh()
    const [first] = send(ch, hello(ch), 0)
    if (first === undefined) throw new Error('nothing sent')
    const before = Uint8Array.from(first)
    receive(ch, msg(0, 0), 10) // the peer's message advances our Nr, acks nothing of ours
    const again = tick(ch, 1000).out[0]
    expect(again).toBeDefined()
    expect(again).not.toBe(first)
    expect(header(again as Uint8Array).nr).toBe(1)
    expect(first).toEqual(before)
  })

  it('RFC 4951 §5.5: resetChannel flushes both windows and takes the suggested Ns/Nr', () => {
    const ch = fresh()
    send(ch, hello(ch), 0)
    resetChannel(ch, 0x1_0005, 9)
    expect({ ns: ch.ns, nr: ch.nr, inFlight: ch.inFlight.length, retransmitAt: ch.retransmitAt }).toEqual({
      ns: 5,
      nr: 9,
      inFlight: 0,
      retransmitAt: null,
    })
  })

  it('FO-30: revive gives a dead channel a fresh retry budget; outstanding messages go again at once', () => {
    const ch = fresh({ maxRetransmits: 0 })
    send(ch, hello(ch), 0)
    expect(tick(ch, 1000).died).toBe(true)
    expect(revive(ch, 2000)).toBe('pending')
    expect({ dead: ch.dead, retries: ch.retries, retransmitAt: ch.retransmitAt }).toEqual({
      dead: false,
      retries: 0,
      retransmitAt: 2000,
    })
    const idle = fresh()
    idle.dead = true
    expect(revive(idle, 5)).toBe('idle')
    expect(idle.retransmitAt).toBeNull()
  })
})
