// A lease value that does not decode is held, not free (issue 9): a standby claims it only once
// it went unchanged for the detection time, like any other, and never at a forged epoch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LEASE_BUCKET, unsafe } from '../../contracts/index.js'
import { decodeLease, EndpointLease } from '../../nodes/shell/lease.js'
import { type KvBucket, type NatsConnection, openKv } from '../../registry/shell/index.js'
import { rightOrThrow } from '../support/brokers.js'
import { sleep, waitFor } from '../support/churn.js'
import { natsAsNode } from '../support/identity.js'

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`
const enc = (s: string) => new TextEncoder().encode(s)
const OPTIONS = { renewMs: 200, detectionMs: 1500, pollMs: 50 }

let writer: NatsConnection
let standby: NatsConnection
let kvW: KvBucket
let kvS: KvBucket

beforeAll(async () => {
  const eps = [`lease-junk-${RUN}`, `lease-huge-${RUN}`]
  ;[writer, standby] = await Promise.all([natsAsNode(`lw-${RUN}`, eps), natsAsNode(`ls-${RUN}`, eps)])
  kvW = rightOrThrow(await openKv(writer, LEASE_BUCKET)())
  kvS = rightOrThrow(await openKv(standby, LEASE_BUCKET)())
})
afterAll(async () => {
  await Promise.all([writer?.close(), standby?.close()])
})

/** Runs a standby lease for `key`; resolves the epoch it acquired. */
const standBy = (key: string) => {
  const acquired: number[] = []
  const lease = new EndpointLease(
    kvS,
    unsafe.endpointId(key),
    `ls-${RUN}`,
    { onAcquired: async (epoch) => void acquired.push(epoch), onLost: () => undefined, log: () => undefined },
    OPTIONS,
  )
  lease.start()
  return { lease, acquired }
}

describe('a lease value that does not decode', () => {
  it.each([
    ['garbage', 'junk', () => 'not a lease'],
    [
      'a released lease at epoch 1e308',
      'huge',
      () => JSON.stringify({ node: 'x', epoch: 1e308, renewedAt: Date.now(), released: true }),
    ],
  ])(
    '(%s) is not claimed while its writer keeps it fresh; once stale, claimed at a sane epoch',
    async (_w, k, value) => {
      const key = `lease-${k}-${RUN}`
      let rev = 0
      const write = async () => {
        const w = rightOrThrow(await kvW.compareAndSet(key, enc(value()), rev)())
        if (w._tag !== 'Written') throw new Error('conflict')
        rev = w.revision
      }
      await write()
      const s = standBy(key)
      try {
        // Refreshed every ~100 ms for longer than the detection time: held all along.
        for (let i = 0; i < 24; i++) {
          await write()
          await sleep(100)
        }
        expect(s.acquired).toEqual([])
        expect(s.lease.isOwner).toBe(false)
        await waitFor('the stale value to be claimed', () => s.acquired.length === 1, 10_000)
        expect(s.acquired).toEqual([1])
        const now = rightOrThrow(await kvS.get(key)())
        expect(decodeLease(now?.value ?? enc(''))).toMatchObject({ node: `ls-${RUN}`, epoch: 1 })
      } finally {
        s.lease.stop()
      }
    },
  )
})
