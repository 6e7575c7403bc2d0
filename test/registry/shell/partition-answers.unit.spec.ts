// The router's gathered endpoint listing (pages merged across partitions, exact under paging,
// saying which partitions are missing) and the consumer lag of held partitions only. Pure.
import { describe, expect, it } from 'vitest'
import { type EndpointSummary, type Offset, unsafe } from '../../../contracts/index.js'
import { emptyTable, type Fleet } from '../../../registry/index.js'
import { endpointsPage, mergePages, summaryOf } from '../../../registry/shell/index.js'
import { lagOf } from '../../../registry/shell/registry-metrics.js'

/** Endpoints spread over three partitions, unevenly (a partition with none too). */
const partitions: Fleet[] = [new Map(), new Map(), new Map(), new Map()]
const ids = Array.from({ length: 23 }, (_, i) => `ep-${String(i).padStart(2, '0')}`)
for (const [i, id] of ids.entries()) {
  const p = i % 5 === 0 ? 0 : i % 2 === 0 ? 1 : 2
  partitions[p]?.set(id, emptyTable(unsafe.endpointId(id)))
}

const served = (p: number) => [{ instance: `i${p}`, partition: p, lastApplied: null }]

const gather = (r: { limit?: number; cursor?: string }, down: readonly number[] = []) =>
  mergePages(
    partitions.map((fleet, p) => ({
      p,
      reply: down.includes(p) ? null : { ...endpointsPage(fleet, r, (t) => summaryOf(t)), served: served(p) },
    })),
    r,
  )

const all = (limit: number, down: readonly number[] = []) => {
  const seen: EndpointSummary[] = []
  const flags: Array<{ complete: boolean; missing: readonly number[] }> = []
  let cursor: string | undefined
  for (let i = 0; i < 100; i++) {
    const page = gather({ limit, ...(cursor === undefined ? {} : { cursor }) }, down)
    if (!page.ok) throw new Error(page.message)
    seen.push(...page.result.items)
    flags.push({ complete: page.result.complete, missing: page.result.missing })
    if (page.result.next === null) return { ids: seen.map((e) => e.endpointId), flags }
    cursor = page.result.next
  }
  throw new Error('the listing did not end')
}

describe('gathered endpoint listing', () => {
  it('pages merged across partitions list every endpoint once, in id order, at any page size', () => {
    for (const limit of [1, 2, 3, 7, 500]) {
      const r = all(limit)
      expect(r.ids).toEqual(ids)
      expect(r.flags.every((f) => f.complete && f.missing.length === 0)).toBe(true)
    }
  })

  it('a partition that does not answer is named on every page and its endpoints are absent', () => {
    const r = all(4, [1])
    expect(r.ids).toEqual(ids.filter((id) => !partitions[1]?.has(id)))
    expect(r.flags.every((f) => !f.complete && f.missing.join() === '1')).toBe(true)
  })

  it('says who served each part', () => {
    const page = gather({ limit: 500 }, [3])
    expect(page.served?.map((s) => s.partition)).toEqual([0, 1, 2])
  })
})

describe('consumer lag', () => {
  const ends = [0, 1, 2].map((partition) => ({
    partition,
    low: unsafe.offset('0'),
    high: unsafe.offset('100'),
  }))
  it('counts only the partitions this instance holds', () => {
    const positions = new Map<number, Offset>([[1, unsafe.offset('90')]])
    expect(lagOf(ends, positions, [1])).toBe(10)
    // Held but not folded yet: from the partition's start.
    expect(lagOf(ends, positions, [1, 2])).toBe(110)
    expect(lagOf(ends, positions, [])).toBe(0)
  })
})
