// l2tpctl output: listings streamed page by page stay one valid JSON document, a paged table
// streamed as JSON is the canonical table view byte for byte, and a reader that goes away
// (EPIPE) is a quiet PipeClosed, not an exception.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { type TableRow, unsafe } from '../../../contracts/index.js'
import { Output, PipeClosed } from '../../../registry/cli/ctl/output.js'
import { tableWriter } from '../../../registry/cli/ctl/registry-commands.js'
import {
  canonicalJson,
  emptyTable,
  evolve,
  parseTableCursor,
  type TablePos,
  tableHead,
  tableRows,
  takePage,
} from '../../../registry/domain/index.js'
import { sessionEstablished, tunnelEstablished } from '../../support/history.js'

const sink = () => {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString())
      done()
    },
  })
  return { stream, text: () => chunks.join('') }
}

const table = () => {
  let t = emptyTable(unsafe.endpointId('lns-out'))
  const env = () => ({ endpointId: 'lns-out', epoch: 1, seq: t.seq + 1, at: 5 + t.seq, nodeId: 'n' })
  for (const [tid, n] of [
    [3, 7],
    [4, 0],
    [5, 12],
  ] as const) {
    t = evolve(t, tunnelEstablished(env(), tid, tid))
    for (let sid = 1; sid <= n; sid++) t = evolve(t, sessionEstablished(env(), tid, sid, sid))
  }
  return t
}

describe('l2tpctl output', () => {
  it('a listing over several pages is one JSON array, or NDJSON, or a table with one header', async () => {
    const pages = [[{ a: 1 }, { a: 2 }], [], [{ a: 3 }]]
    const run = async (format: 'json' | 'ndjson' | 'human') => {
      const s = sink()
      const l = new Output(format, s.stream).listing<{ a: number }>({ header: 'A', row: (x) => String(x.a) })
      for (const p of pages) await l.page(p)
      await l.end()
      return s.text()
    }
    expect(JSON.parse(await run('json'))).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }])
    expect(
      (await run('ndjson'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(pages.flat())
    expect(await run('human')).toBe('A\n1\n2\n3\n')
    const empty = sink()
    await new Output('json', empty.stream).listing({ header: 'A', row: String }).end()
    expect(empty.text()).toBe('[]\n')
    // An empty listing (every page empty, e.g. a filter that matches nothing) prints its header once.
    for (const emptyPages of [[], [[]], [[], []]]) {
      const s = sink()
      const l = new Output('human', s.stream).listing<{ a: number }>({ header: 'A', row: (x) => String(x.a) })
      for (const p of emptyPages) await l.page(p)
      await l.end()
      expect(s.text()).toBe('A\n')
    }
  })

  it('a table streamed as JSON page by page (cut inside tunnels) is the canonical table view', async () => {
    const t = table()
    for (const limit of [1, 4, 8, 100]) {
      const s = sink()
      const w = tableWriter(new Output('json', s.stream))
      let cursor: TablePos | null = null
      let first = true
      for (;;) {
        const page: ReturnType<typeof takePage<TableRow>> = takePage(tableRows(t, cursor), { limit })
        await w.page(tableHead(t), page.items, first)
        first = false
        if (page.next === null) break
        const next = parseTableCursor(page.next)
        cursor = next._tag === 'Right' ? next.right : null
      }
      await w.end()
      expect(s.text()).toBe(`${canonicalJson(t)}\n`)
    }
  })

  it('EPIPE from the reader is PipeClosed, and later writes fail the same way', async () => {
    const broken = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
      },
    })
    const out = new Output('human', broken)
    await expect(out.write('x\n')).rejects.toBeInstanceOf(PipeClosed)
    await expect(out.write('y\n')).rejects.toBeInstanceOf(PipeClosed)
  })
})
