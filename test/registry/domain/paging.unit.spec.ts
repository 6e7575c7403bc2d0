// Pages of listings: every item once across pages, cut by count and by bytes (one tunnel may
// hold 65,535 sessions), cursors stable while the table changes between pages, filters.
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  MAX_PAGE_LIMIT,
  PAGE_MAX_BYTES,
  type TableRow,
  unsafe,
  viewFromRows,
} from '../../../contracts/index.js'
import {
  canonicalJson,
  type EndpointTable,
  emptyTable,
  evolve,
  parseTableCursor,
  sessionItems,
  type TablePos,
  tableHead,
  tableRows,
  takePage,
  toView,
  tunnelItems,
  utf8Length,
} from '../../../registry/domain/index.js'
import { sessionClosed, sessionEstablished, tunnelEstablished } from '../../support/history.js'

const env = (t: EndpointTable) => ({
  endpointId: t.endpointId,
  epoch: 1,
  seq: t.seq + 1,
  at: 1000 + t.seq,
  nodeId: 'n1',
})

const tableWith = (tunnels: ReadonlyArray<readonly [number, number]>): EndpointTable => {
  let t = emptyTable(unsafe.endpointId('lns-p'))
  let serial = 1
  for (const [tid, sessions] of tunnels) {
    t = evolve(t, tunnelEstablished(env(t), tid, tid))
    for (let sid = 1; sid <= sessions; sid++) t = evolve(t, sessionEstablished(env(t), tid, sid, serial++))
  }
  return t
}

/** Reads every page, calling `between` after each one (to change the table under the reader). */
const readAll = <A>(
  items: (after: TablePos | null) => Iterable<readonly [string, A]>,
  limit?: number,
  between: (page: number) => void = () => undefined,
) => {
  const all: A[] = []
  const sizes: number[] = []
  let cursor: string | undefined
  for (let n = 0; ; n++) {
    const after = parseTableCursor(cursor)
    if (E.isLeft(after)) throw new Error(after.left)
    const page = takePage(items(after.right), { limit })
    expect(JSON.stringify(page.items).length).toBeLessThanOrEqual(PAGE_MAX_BYTES + 2)
    all.push(...page.items)
    sizes.push(page.items.length)
    if (page.next === null) return { all, sizes }
    cursor = page.next
    between(n)
  }
}

describe('paged listings', () => {
  it('one tunnel of 65,535 sessions: every row once, pages cut by count and by bytes, the table rebuilt byte for byte', () => {
    const t = tableWith([
      [7, 65_535],
      [9, 3],
    ])
    const byCount = readAll((after) => tableRows(t, after))
    expect(byCount.all).toHaveLength(2 + 65_538)
    expect(Math.max(...byCount.sizes)).toBe(500)
    expect(JSON.stringify(viewFromRows(tableHead(t), byCount.all))).toBe(canonicalJson(t))
    // At the largest limit the byte budget cuts the page first.
    const byBytes = readAll((after) => tableRows(t, after), MAX_PAGE_LIMIT)
    expect(Math.max(...byBytes.sizes)).toBeLessThan(MAX_PAGE_LIMIT)
    expect(byBytes.all).toHaveLength(byCount.all.length)
    expect(tableHead(t)).toMatchObject({ tunnelCount: 2, sessionCount: 65_538 })
  })

  it('a page is cut by its UTF-8 bytes, not by its UTF-16 length', () => {
    const words = ['a', 'é', '€', '😀', 'x€😀é', '\ud800']
    for (const w of words) expect(utf8Length(w)).toBe(Buffer.byteLength(w, 'utf8'))
    const items = Array.from(
      { length: 100 },
      (_, i) => [String(i).padStart(3, '0'), { host: '€'.repeat(50) }] as const,
    )
    const page = takePage(items, { limit: 100, maxBytes: 1000 })
    const bytes = page.items.reduce((n, x) => n + Buffer.byteLength(JSON.stringify(x), 'utf8') + 1, 0)
    expect(bytes).toBeLessThanOrEqual(1000)
    expect(page.items.length).toBeGreaterThan(0)
    expect(page.next).toBe(String(page.items.length - 1).padStart(3, '0'))
  })

  it('a cursor is the last key seen: sessions that stay through concurrent change appear exactly once', () => {
    const t = tableWith([
      [1, 300],
      [2, 300],
      [3, 300],
    ])
    const stay = new Set(
      [...t.tunnels.values()].flatMap((x) => [...x.sessions.keys()].map((s) => `${x.localTunnelId}/${s}`)),
    )
    const { all } = readAll(
      (after) => sessionItems(t, after),
      100,
      (n) => {
        // Between pages: a session already read and one not read yet close; new ones open.
        evolve(t, sessionClosed(env(t), 1, 1 + n))
        stay.delete(`1/${1 + n}`)
        evolve(t, sessionClosed(env(t), 3, 300 - n))
        stay.delete(`3/${300 - n}`)
        evolve(t, sessionEstablished(env(t), 2, 1000 + n, 5000 + n))
      },
    )
    const keys = all.map((s) => `${s.localTunnelId}/${s.localSessionId}`)
    expect(new Set(keys).size).toBe(keys.length)
    const read = new Set(keys)
    expect([...stay].filter((k) => !read.has(k))).toEqual([])
    expect(keys.filter((k) => k.startsWith('3/')).every((k) => stay.has(k))).toBe(true)
  })

  it('filters by tunnel, peer host[:port], peer host name and state; a foreign cursor is refused', () => {
    const t = tableWith([
      [1, 2],
      [2, 2],
    ])
    const ids = (f: Parameters<typeof tunnelItems>[2]) =>
      [...tunnelItems(t, null, f)].map(([, x]) => x.localTunnelId)
    expect(ids({ localTunnelId: unsafe.tunnelId(2) })).toEqual([2])
    expect(ids({ peer: '127.0.0.3' })).toEqual([1, 2])
    expect(ids({ peer: '127.0.0.3:1701' })).toEqual([1, 2])
    expect(ids({ peer: '127.0.0.3:1702' })).toEqual([])
    expect(ids({ peerHostName: 'lac-sim', state: 'established' })).toEqual([1, 2])
    expect(ids({ state: 'recovering' })).toEqual([])
    expect(ids({ peerHostName: 'other' })).toEqual([])
    expect(parseTableCursor('lns-a')._tag).toBe('Left')
    const rows: TableRow[] = [...tableRows(t, { tunnel: 1, session: 2 })].map(([, r]) => r)
    expect(rows.map((r) => r.kind)).toEqual(['tunnel', 'session', 'session'])
    expect(toView(t).tunnels).toHaveLength(2)
  })
})
