// The outbox against a scripted EndpointWriter port (no Kafka): order, back-pressure, fencing.
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { type L2tpEvent, unsafe } from '../../../contracts/index.js'
import { Outbox, recordBytes } from '../../../nodes/shell/outbox.js'
import type { EndpointWriter, InfraError } from '../../../registry/shell/index.js'
import { history } from '../../support/history.js'

const events = [...history({ endpointId: 'ep', events: 300, seed: 1 })]

const scripted = (state: { mode: 'down' | 'up' | 'fenced'; written: L2tpEvent[] }) => () => async () => {
  const w: EndpointWriter = {
    endpointId: 'ep',
    partition: 0,
    append: (batch) => async () => {
      if (state.mode === 'down')
        return E.left<InfraError>({ _tag: 'KafkaFailed', op: 'append', detail: 'broker away' })
      if (state.mode === 'fenced')
        return E.left<InfraError>({ _tag: 'Fenced', transactionalId: 'x', detail: 'newer owner' })
      state.written.push(...batch)
      return E.right({ partition: 0, firstOffset: unsafe.offset('0'), count: batch.length })
    },
    close: async () => undefined,
  }
  return E.right(w)
}

const until = async (cond: () => boolean) => {
  const t = Date.now() + 20_000
  while (!cond()) {
    if (Date.now() > t) throw new Error('timeout')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('event outbox', () => {
  it('holds events while Kafka is away, refuses new work above the high-water mark, then delivers all in order', async () => {
    const state = { mode: 'down' as 'down' | 'up' | 'fenced', written: [] as L2tpEvent[] }
    const pressure: boolean[] = []
    const logs: string[] = []
    const o = new Outbox(
      scripted(state),
      { capacity: 1000, highWater: 200, batch: 50 },
      {
        onPressure: (full) => pressure.push(full),
        onFenced: () => undefined,
        log: (_l, msg) => logs.push(msg),
      },
    )
    for (const e of events) o.push(e)
    expect(o.pending).toBe(300)
    expect(pressure).toEqual([true])
    expect(logs.some((m) => m.includes('near full'))).toBe(true)
    state.mode = 'up'
    await until(() => o.pending === 0)
    expect(pressure).toEqual([true, false])
    expect(state.written.map((e) => e.seq)).toEqual(events.map((e) => e.seq))
    expect(o.dropped).toBe(0)
    await o.close()
  })

  it('a fenced writer stops the outbox and reports it', async () => {
    const state = { mode: 'fenced' as 'down' | 'up' | 'fenced', written: [] as L2tpEvent[] }
    let fenced = 0
    const o = new Outbox(
      scripted(state),
      { capacity: 1000, highWater: 900, batch: 50 },
      {
        onPressure: () => undefined,
        onFenced: () => fenced++,
        log: () => undefined,
      },
    )
    o.push(events[0] as L2tpEvent)
    await until(() => fenced === 1)
    o.push(events[1] as L2tpEvent)
    expect(state.written).toEqual([])
  })
})

describe('event outbox bounded by bytes', () => {
  it('cuts transactions by bytes, halves them when the broker refuses one for its size, dead-letters an event no transaction can carry', async () => {
    const written: L2tpEvent[] = []
    const sizes: number[] = []
    const brokerLimit = 4000
    const writer = () => async () => {
      const w: EndpointWriter = {
        endpointId: 'ep',
        partition: 0,
        append: (batch) => async () => {
          const bytes = batch.reduce((n, e) => n + recordBytes(e), 0)
          if (bytes > brokerLimit)
            return E.left<InfraError>({ _tag: 'KafkaFailed', op: 'append', detail: 'MESSAGE_TOO_LARGE' })
          sizes.push(bytes)
          written.push(...batch)
          return E.right({ partition: 0, firstOffset: unsafe.offset('0'), count: batch.length })
        },
        close: async () => undefined,
      }
      return E.right(w)
    }
    const dead: Array<{ seq: number; reason: string }> = []
    const o = new Outbox(
      writer,
      { capacity: 1000, highWater: 900, batch: 500, batchBytes: 16_000 },
      {
        onPressure: () => undefined,
        onFenced: () => undefined,
        deadLetter: async (e, _b, reason) => void dead.push({ seq: e.seq, reason }),
        log: () => undefined,
      },
    )
    const huge = { ...(events[0] as L2tpEvent), type: 'EndpointReleased', v: 1, reason: 'x'.repeat(20_000) }
    const sent = [...events.slice(0, 100), huge as L2tpEvent, ...events.slice(100, 200)]
    for (const e of sent) o.push(e)
    await until(() => o.pending === 0)
    expect(dead).toHaveLength(1)
    expect(dead[0]?.reason).toMatch(/exceeds the transaction limit/)
    expect(o.deadLettered).toBe(1)
    expect(written).toEqual(sent.filter((e) => e !== huge))
    expect(Math.max(...sizes)).toBeLessThanOrEqual(brokerLimit)
    await o.close()
  })
})
