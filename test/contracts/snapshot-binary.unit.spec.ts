import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { partOf, Writer } from '../../contracts/event-binary.js'
import {
  decodeSnapshotBinary,
  encodeSnapshotBinary as encodeValue,
  type L2tpEvent,
  Snapshot,
  unsafe,
} from '../../contracts/index.js'
import {
  canonicalJson,
  decodeSnapshot,
  type EndpointTable,
  emptyTable,
  encodeSnapshot,
  encodeSnapshotBinary,
  evolve,
  toView,
} from '../../registry/index.js'
import { anyEvent } from '../support/arbitraries.js'
import { history } from '../support/history.js'

/** Arbitrary events made to apply to one endpoint in order: random field values end up in the table. */
const tableArb = fc
  .tuple(
    fc.array(anyEvent, { maxLength: 80 }),
    fc.record({ seed: fc.nat(), events: fc.integer({ min: 1, max: 300 }) }),
  )
  .map(([random, h]) => {
    const t = emptyTable(unsafe.endpointId('lns-a'))
    const events = [...history({ endpointId: 'lns-a', maxTunnels: 6, ...h })]
    for (const e of events) evolve(t, e)
    let seq = t.seq
    for (const e of random) evolve(t, { ...e, endpointId: 'lns-a', epoch: t.epoch, seq: ++seq } as L2tpEvent)
    return t
  })

const whole = (t: EndpointTable) => `${canonicalJson(t)}|${JSON.stringify(t.counters)}`
const snap = (table: EndpointTable, n: number) => ({
  table,
  partition: n % 12,
  nextOffset: unsafe.offset(String(n)),
})

/** The JSON value of a snapshot, as the JSON records carry it. */
const jsonValue = (table: EndpointTable, n: number): Snapshot =>
  JSON.parse(encodeSnapshot(snap(table, n))) as Snapshot

/** One endpoint, one tunnel, three sessions (history seed 7), partition 5, offset 5, in format 1. */
const GOLDEN =
  '005301056c6e732d610a0135056c6e732d61020c01066e6f64652d3101010101056c6e732d6101093132372e30' +
  '2e302e32ca1a0100018ca0abfef9620102ace807093132372e302e302e32ca1a093132372e302e302e33ca1a01' +
  '01056c6e732d61076c61632d73696d010d6c3274702d72656769737472790102010101002010010101904e0101' +
  '00904e01010764656661756c7484a0abfef96200000002041e040000008084af5f000000000088a0abfef96206' +
  '2c060000008084af5f00000000008aa0abfef96201010200000000'

describe('binary snapshot records', () => {
  it('round-trip: the table read back equals the table, counters, partition and offset included', () => {
    fc.assert(
      fc.property(tableArb, fc.nat(), (t, n) => {
        const bytes = encodeSnapshotBinary(snap(t, n))
        expect([bytes[0], bytes[1], bytes[2]]).toEqual([0x00, 0x53, 1])
        const back = decodeSnapshot(bytes)
        if (back._tag === 'Left') throw new Error(back.left.problems.join('\n'))
        expect(whole(back.right.table)).toBe(whole(t))
        expect(back.right.partition).toBe(n % 12)
        expect(back.right.nextOffset).toBe(String(n))
      }),
      { numRuns: 150 },
    )
  })

  it('JSON snapshot records of before are still read, and read the same as binary ones', () => {
    fc.assert(
      fc.property(tableArb, fc.nat(), (t, n) => {
        const json = decodeSnapshot(encodeSnapshot(snap(t, n)))
        const bin = decodeSnapshot(encodeSnapshotBinary(snap(t, n)))
        if (json._tag === 'Left' || bin._tag === 'Left') throw new Error('did not decode')
        expect(whole(bin.right.table)).toBe(whole(json.right.table))
        expect(JSON.stringify(toView(bin.right.table))).toBe(JSON.stringify(toView(json.right.table)))
      }),
      { numRuns: 100 },
    )
  })

  it('the compiled writer writes the bytes of the generic one, from the table or from its JSON value', () => {
    fc.assert(
      fc.property(tableArb, fc.nat(), (t, n) => {
        const w = new Writer()
        for (const b of [0x00, 0x53, 1]) w.byte(b)
        partOf(Snapshot).write(w, jsonValue(t, n))
        expect(encodeValue(jsonValue(t, n)).equals(w.bytes())).toBe(true)
        expect(encodeSnapshotBinary(snap(t, n)).equals(w.bytes())).toBe(true)
      }),
      { numRuns: 100 },
    )
  })

  it('accepts and rejects a changed field exactly as the io-ts codec does', () => {
    const ints = fc.constantFrom(0, 1, 65535, 65536, 2 ** 32, 2 ** 40)
    fc.assert(
      fc.property(tableArb, ints, fc.nat(), (t, bad, n) => {
        const v = jsonValue(t, 0) as unknown as {
          table: { epoch: number; tunnels: Record<string, unknown>[] }
        }
        const tunnel = v.table.tunnels[n % Math.max(1, v.table.tunnels.length)]
        const sessions = (tunnel?.sessions ?? []) as Record<string, unknown>[]
        const session = sessions[n % Math.max(1, sessions.length)]
        const fields = ['localSessionId', 'remoteSessionId', 'callSerial', 'txConnectSpeed'] as const
        if (session !== undefined) session[fields[n % fields.length] as string] = bad
        else if (tunnel !== undefined) tunnel.remoteTunnelId = bad
        else v.table.epoch = -bad - 1
        const io = Snapshot.decode(v)
        const bin = decodeSnapshotBinary(encodeValue(v as unknown as Snapshot))
        expect(bin._tag).toBe(io._tag)
      }),
      { numRuns: 500 },
    )
  })

  it('never throws on truncated or corrupted records, and says why it rejects them', () => {
    fc.assert(
      fc.property(tableArb, fc.nat(), fc.nat({ max: 255 }), (t, at, byte) => {
        const bytes = encodeSnapshotBinary(snap(t, 1))
        const cut = decodeSnapshot(bytes.subarray(0, 3 + (at % (bytes.length - 3))))
        expect(cut._tag).toBe('Left')
        const flipped = Buffer.from(bytes)
        flipped[3 + (at % (bytes.length - 3))] = byte
        const f = decodeSnapshot(flipped)
        if (f._tag === 'Left') expect(f.left.problems.length).toBeGreaterThan(0)
      }),
      { numRuns: 300 },
    )
    const r = decodeSnapshot(Buffer.from([0x00, 0x53, 9]))
    expect(r._tag === 'Left' && r.left.problems.join()).toContain('format 9')
  })

  it('pins format 1 byte for byte (reordering a view codec changes the format: a new format byte)', () => {
    const t = emptyTable(unsafe.endpointId('lns-a'))
    for (const e of history({ endpointId: 'lns-a', seed: 7, events: 6, maxTunnels: 1 })) evolve(t, e)
    const hex = encodeSnapshotBinary(snap(t, 5)).toString('hex')
    expect(hex).toBe(GOLDEN)
  })
})
