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
    openedAt: unsafe.offset('0'),
    committedSeqSince: () => async () => E.right(null),
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

describe('event outbox after an ambiguous failure', () => {
  // The log as a list of (offset, event); a commit whose response is lost still lands.
  const ambiguousLog = (loseResponseOf: Set<number>) => {
    const log: Array<{ offset: number; e: L2tpEvent }> = []
    let appends = 0
    let opened = 0
    let readFails = 1
    const open = () => async () => {
      opened++
      const w: EndpointWriter = {
        endpointId: 'ep',
        partition: 0,
        openedAt: unsafe.offset(String(log.length)),
        append: (batch) => async () => {
          const first = log.length
          for (const e of batch) log.push({ offset: log.length, e })
          if (loseResponseOf.has(appends++))
            return E.left<InfraError>({
              _tag: 'KafkaFailed',
              op: 'append',
              detail: 'broker killed mid-commit',
            })
          return E.right({ partition: 0, firstOffset: unsafe.offset(String(first)), count: batch.length })
        },
        committedSeqSince: (from, epoch) => async () => {
          // The first read after a failure fails too (the broker is still away).
          if (readFails-- > 0)
            return E.left<InfraError>({ _tag: 'KafkaFailed', op: 'readPartition', detail: 'away' })
          const seqs = log.filter((r) => r.offset >= Number(from) && r.e.epoch === epoch).map((r) => r.e.seq)
          return E.right(seqs.length === 0 ? null : Math.max(...seqs))
        },
        close: async () => undefined,
      }
      return E.right(w)
    }
    return { log, open, opened: () => opened }
  }

  it('reads what landed before resending: every event is in the log exactly once, in order', async () => {
    const { log, open, opened } = ambiguousLog(new Set([1, 3]))
    const o = new Outbox(
      open,
      { capacity: 1000, highWater: 900, batch: 50 },
      { onPressure: () => undefined, onFenced: () => undefined, log: () => undefined },
    )
    for (const e of events) o.push(e)
    await until(() => o.pending === 0)
    expect(log.map((r) => r.e.seq)).toEqual(events.map((e) => e.seq))
    expect(o.appended).toBe(events.length)
    expect(o.recoveredAfterAmbiguous).toBe(100)
    expect(opened()).toBeGreaterThanOrEqual(3)
    await o.close()
  })

  it('an append that truly failed (nothing landed) is sent again', async () => {
    const { log, open } = ambiguousLog(new Set())
    let failNext = true
    const flaky = () => async () => {
      const w = await open()()
      if (E.isLeft(w)) return w
      const real = w.right
      return E.right<InfraError, EndpointWriter>({
        ...real,
        append: (batch) => async () => {
          if (failNext) {
            failNext = false
            return E.left<InfraError>({ _tag: 'KafkaFailed', op: 'append', detail: 'refused' })
          }
          return real.append(batch)()
        },
      })
    }
    const o = new Outbox(
      flaky,
      { capacity: 1000, highWater: 900, batch: 50 },
      { onPressure: () => undefined, onFenced: () => undefined, log: () => undefined },
    )
    for (const e of events.slice(0, 120)) o.push(e)
    await until(() => o.pending === 0)
    expect(log.map((r) => r.e.seq)).toEqual(events.slice(0, 120).map((e) => e.seq))
    expect(o.recoveredAfterAmbiguous).toBe(0)
    await o.close()
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
        openedAt: unsafe.offset('0'),
        committedSeqSince: () => async () => E.right(null),
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
