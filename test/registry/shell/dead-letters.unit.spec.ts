// The registry's dead letters go out in produce requests bounded by bytes: every letter once, in
// order, no run above the bound unless one letter alone is larger.
import { describe, expect, it } from 'vitest'
import { batchesByBytes } from '../../../registry/shell/dead-letters.js'

const letter = (i: number, bytes: number) => ({ key: `ep-${i}`, value: 'x'.repeat(bytes) })

describe('dead letters in byte-bounded batches', () => {
  it('cuts runs under the bound, keeps order, sends an oversized letter alone', () => {
    const items = [
      ...Array.from({ length: 50 }, (_, i) => letter(i, 900)),
      letter(50, 5000),
      ...Array.from({ length: 10 }, (_, i) => letter(51 + i, 100)),
    ]
    const runs = batchesByBytes(items, 4096)
    expect(runs.flat()).toEqual(items)
    const size = (r: typeof items) => r.reduce((n, d) => n + d.value.length + d.key.length + 32, 0)
    for (const r of runs) if (r.length > 1) expect(size(r)).toBeLessThanOrEqual(4096)
    expect(runs.find((r) => r.includes(items[50] as (typeof items)[number]))).toHaveLength(1)
    expect(batchesByBytes([], 4096)).toEqual([])
  })
})
