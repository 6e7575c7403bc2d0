// The forensics gate: at most `limit` as-of/timeline reads at once; past it a `Busy` reply at
// once (never a queue that grows), and a slot comes back when a read ends, even by failing.
import { describe, expect, it } from 'vitest'
import { okReply, type Reply } from '../../../contracts/index.js'
import { forensicsGate, gated } from '../../../registry/shell/index.js'

const deferred = () => {
  let resolve: (v: Reply<number>) => void = () => undefined
  let reject: (e: Error) => void = () => undefined
  const promise = new Promise<Reply<number>>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('forensics gate', () => {
  it('answers Busy past the limit and frees a slot when a read ends', async () => {
    const gate = forensicsGate(2)
    const a = deferred()
    const b = deferred()
    const ra = gated(gate, () => a.promise)
    const rb = gated(gate, () => b.promise)
    expect(gate.running).toBe(2)
    const busy = await gated(gate, async () => okReply(3))
    expect(busy).toEqual({
      ok: false,
      code: 'Busy',
      message: '2 as-of/timeline reads already running (the most at once): retry shortly',
    })
    a.resolve(okReply(1))
    expect(await ra).toEqual(okReply(1))
    expect(await gated(gate, async () => okReply(4))).toEqual(okReply(4))
    b.reject(new Error('broker gone'))
    await expect(rb).rejects.toThrow('broker gone')
    expect(gate.running).toBe(0)
  })
})
