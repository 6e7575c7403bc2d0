// The shell's timer heap against a plain map of deadlines: the same ids come due, in deadline
// order, each once; re-arming and clearing win over older entries; stale entries stay bounded.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TimerHeap } from '../../../nodes/shell/timer-heap.js'

type Op =
  | { readonly op: 'set'; readonly id: number; readonly at: number }
  | { readonly op: 'clear'; readonly id: number }
  | { readonly op: 'due'; readonly now: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    id: fc.integer({ min: 1, max: 40 }),
    at: fc.integer({ min: 0, max: 500 }),
  }),
  fc.record({ op: fc.constant('clear' as const), id: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('due' as const), now: fc.integer({ min: 0, max: 500 }) }),
)

const earliest = (model: Map<number, number>): number | null =>
  model.size === 0 ? null : Math.min(...model.values())

describe('TimerHeap', () => {
  it('fires what a map of deadlines says is due, in deadline order, each once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const heap = new TimerHeap()
        const model = new Map<number, number>()
        for (const o of ops) {
          if (o.op === 'set') {
            heap.set(o.id, o.at)
            model.set(o.id, o.at)
          } else if (o.op === 'clear') {
            heap.set(o.id, null)
            model.delete(o.id)
          } else {
            const got = heap.due(o.now)
            const want = [...model].filter(([, at]) => at <= o.now)
            expect([...got].sort((a, b) => a - b)).toEqual(want.map(([id]) => id).sort((a, b) => a - b))
            const ats = got.map((id) => want.find(([w]) => w === id)?.[1] ?? -1)
            expect(ats).toEqual([...ats].sort((a, b) => a - b))
            for (const id of got) model.delete(id)
          }
          expect(heap.peek()).toBe(earliest(model))
          expect(heap.size).toBe(model.size)
        }
      }),
    )
  })

  it('keeps stale entries bounded when one timer is re-armed over and over', () => {
    const heap = new TimerHeap()
    for (let i = 0; i < 100_000; i++) heap.set(7, 1_000_000 - i)
    expect(heap.size).toBe(1)
    expect(heap.entries).toBeLessThanOrEqual(2 * heap.size + 64 + 1)
    expect(heap.peek()).toBe(1_000_000 - 99_999)
    expect(heap.due(2_000_000)).toEqual([7])
    expect(heap.peek()).toBeNull()
  })

  it('grows past its first capacity without losing a deadline', () => {
    const heap = new TimerHeap()
    for (let id = 1; id <= 5000; id++) heap.set(id, 10_000 - id)
    const due = heap.due(10_000)
    expect(due).toHaveLength(5000)
    expect(due[0]).toBe(5000)
    expect(due[4999]).toBe(1)
  })
})
