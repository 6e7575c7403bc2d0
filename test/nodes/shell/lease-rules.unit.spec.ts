// The lease rules (docs/lease.md) on a fake monotonic clock and a fake KV: validity counted
// from the send time of the last successful renewal minus a margin; slow or failing renewals
// retried while valid; the owner stops before any standby may claim; a standby claims only after
// the detection time on its own clock; a handed-back lease is never renewed again.
import { describe, expect, it } from 'vitest'
import { EndpointLease, type LeaseOptions } from '../../../nodes/shell/lease.js'
import { FakeClock, FakeKv } from '../../support/fake-lease.js'

const OPTIONS: LeaseOptions = { renewMs: 500, detectionMs: 2000, pollMs: 100, marginMs: 200 }
const KEY = 'ep-1'

const node = (kv: FakeKv, clock: FakeClock, name: string) => {
  const acquired: Array<{ epoch: number; at: number }> = []
  const lost: Array<{ why: string; at: number }> = []
  const lease = new EndpointLease(
    kv,
    KEY,
    name,
    {
      onAcquired: async (epoch) => void acquired.push({ epoch, at: clock.now() }),
      onLost: (why) => void lost.push({ why, at: clock.now() }),
      log: () => undefined,
    },
    OPTIONS,
    () => 0,
    clock,
  )
  return { lease, acquired, lost, name }
}

/** An owner `a` (claimed the free key at t=0) and a standby `b` watching from t=0. */
const pair = async () => {
  const kv = new FakeKv()
  const clock = new FakeClock()
  const a = node(kv, clock, 'node-a')
  a.lease.start()
  await clock.advance(0)
  expect(a.acquired).toEqual([{ epoch: 1, at: 0 }])
  const b = node(kv, clock, 'node-b')
  b.lease.start()
  await clock.advance(0)
  return { kv, clock, a, b }
}

const writesOf = (kv: FakeKv, name: string) => kv.log.filter((w) => w.node === name)

describe('lease rules', () => {
  it('a renewal slow then successful: no stop, validity counted from its send time (not its reply)', async () => {
    const { kv, clock, a, b } = await pair()
    kv.writes = 'hang'
    await clock.advance(900) // the renewal sent at t=500 is still in flight
    expect(writesOf(kv, 'node-a').filter((w) => w.outcome === 'hung')).toHaveLength(1)
    kv.releaseHung() // it lands at t=900
    kv.writes = 'fail' // and nothing lands after it
    let stoppedSending: number | null = null
    await clock.run(2000, 10, () => {
      if (stoppedSending === null && !a.lease.valid()) stoppedSending = clock.now()
    })
    // Valid until its send time + detection - margin = 500 + 1800 (from the reply it would be 2700).
    expect(stoppedSending).toBe(2300)
    expect(a.lost).toEqual([{ why: expect.stringMatching(/validity ran out/), at: 2300 }])
    expect(b.acquired).toEqual([])
  })

  it('renewals too slow to wait for: the next is sent while valid, the first to land keeps the lease', async () => {
    const { kv, clock, a, b } = await pair()
    kv.writes = 'hang'
    await clock.advance(1700) // sent at 500, not waited for past 1500, the next sent at 1625
    expect(writesOf(kv, 'node-a').filter((w) => w.outcome === 'hung').length).toBeGreaterThan(1)
    kv.releaseHung()
    kv.writes = 'ok'
    await clock.advance(10_000)
    expect(a.lost).toEqual([])
    expect(a.lease.valid()).toBe(true)
    expect(b.acquired).toEqual([])
  })

  it('a slow renewal that lands after the validity ran out is handed back, not kept', async () => {
    const { kv, clock, a, b } = await pair()
    kv.writes = 'hang'
    await clock.advance(1800)
    expect(a.lost.map((l) => l.at)).toEqual([1800])
    expect(a.lease.valid()).toBe(false)
    kv.writes = 'ok'
    kv.releaseHung() // lands now, at t=1800, under a's name
    await clock.advance(0)
    expect(kv.value(KEY)).toMatchObject({ node: 'node-a', released: true })
    await clock.advance(OPTIONS.pollMs)
    expect(b.acquired).toEqual([{ epoch: 2, at: 1900 }])
    expect(a.acquired).toHaveLength(1)
  })

  it('renewals failing for less than the validity: retried, no stop, no takeover', async () => {
    const { kv, clock, a, b } = await pair()
    kv.writes = 'fail'
    await clock.advance(1650) // validity of the claim sent at t=0 runs to 1800
    const failed = writesOf(kv, 'node-a').filter((w) => w.outcome === 'failed').length
    expect(failed).toBeGreaterThan(3)
    kv.writes = 'ok'
    await clock.advance(10_000)
    expect(a.lost).toEqual([])
    expect(a.lease.valid()).toBe(true)
    expect(b.acquired).toEqual([])
  })

  it('renewals failing past the validity: the owner stops at its end, before the standby may claim', async () => {
    const { kv, clock, a, b } = await pair()
    kv.writes = 'fail'
    let stoppedSending: number | null = null
    await clock.run(1900, 10, () => {
      if (stoppedSending === null && !a.lease.valid()) stoppedSending = clock.now()
    })
    expect(a.lost).toEqual([{ why: expect.stringMatching(/validity ran out/), at: 1800 }])
    expect(stoppedSending).toBe(1800)
    kv.writes = 'ok'
    await clock.advance(1000)
    // b first saw a's claim at t=0 and claims once it stayed unchanged for the detection time.
    expect(b.acquired).toHaveLength(1)
    expect(b.acquired[0]?.at).toBeGreaterThanOrEqual(OPTIONS.detectionMs)
    expect(b.acquired[0]?.at).toBeGreaterThan(a.lost[0]?.at ?? Number.POSITIVE_INFINITY)
    // a never writes as owner again.
    expect(writesOf(kv, 'node-a').filter((w) => !w.released && w.outcome === 'Written')).toHaveLength(1)
  })

  it('a renewal whose reply was lost is recognised as our own write: no stop', async () => {
    const { kv, clock, a, b } = await pair()
    kv.writes = 'lost-reply'
    await clock.advance(600)
    kv.writes = 'ok'
    await clock.advance(5000)
    expect(a.lost).toEqual([])
    expect(a.lease.valid()).toBe(true)
    expect(b.acquired).toEqual([])
  })

  it('a standby claims only after the detection time on its own clock, counted from when it first saw the value', async () => {
    const { kv, clock, a, b } = await pair()
    a.lease.stop() // the owner dies: no renewal, no release
    b.lease.stop()
    await clock.advance(3000)
    // A standby that starts late has seen the value only now: it waits the whole detection time.
    const c = node(kv, clock, 'node-c')
    c.lease.start()
    await clock.advance(OPTIONS.detectionMs - OPTIONS.pollMs)
    expect(c.acquired).toEqual([])
    await clock.advance(2 * OPTIONS.pollMs)
    expect(c.acquired).toHaveLength(1)
    expect(c.acquired[0]?.at).toBeGreaterThanOrEqual(3000 + OPTIONS.detectionMs)
  })

  it('a handed-back lease is marked released, never renewed again, and a standby claims it at once', async () => {
    const { kv, clock, a, b } = await pair()
    await clock.advance(1000)
    const before = writesOf(kv, 'node-a').length
    await a.lease.handBack()
    expect(kv.value(KEY)).toMatchObject({ node: 'node-a', released: true })
    expect(a.lease.valid()).toBe(false)
    await clock.advance(OPTIONS.pollMs)
    expect(b.acquired).toEqual([{ epoch: 2, at: 1100 }])
    await clock.advance(10_000)
    // After the release: not one write of a's, and it does not claim back from b.
    expect(writesOf(kv, 'node-a')).toHaveLength(before + 1)
    expect(a.acquired).toHaveLength(1)
    expect(b.lost).toEqual([])
  })

  it('another owner seen: the owner stops at its next renewal', async () => {
    const { kv, clock, a, b } = await pair()
    await clock.advance(200)
    expect(await b.lease.claimNow()).toBe(true)
    await clock.advance(OPTIONS.renewMs)
    expect(a.lost).toEqual([{ why: 'lease taken over by node-b (epoch 2)', at: 500 }])
    expect(a.lease.valid()).toBe(false)
    expect(kv.value(KEY)).toMatchObject({ node: 'node-b', epoch: 2, released: false })
  })
})
