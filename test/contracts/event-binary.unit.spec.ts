import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { framesToNdjson } from '../../contracts/event-frames.js'
import {
  decodeBinaryEvent,
  encodeEvent,
  encodeEventBinary,
  type L2tpEvent,
  parseEvent,
} from '../../contracts/index.js'
import { anyEvent, eventArbs } from '../support/arbitraries.js'

/** What a value of any field may be replaced with: in range, out of range, wrong kind. */
const anyValue = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.constantFrom<unknown>(0, 65535, 65536, 2 ** 32, -1, 1.5, 2 ** 53, '', 'a.b', 'node-1', 'LAC', 'sync'),
  fc.boolean(),
  fc.constant(null),
  fc.record({ host: fc.constantFrom('127.0.0.1', ''), port: fc.integer({ min: -1, max: 70_000 }) }),
)

const reason = (r: ReturnType<typeof parseEvent>): string =>
  r._tag === 'Left' ? r.left.problems.join('\n') : 'accepted'

describe('binary event records', () => {
  for (const [type, arb] of Object.entries(eventArbs)) {
    it(`${type} round-trips through binary bytes and equals its JSON reading`, () => {
      fc.assert(
        fc.property(arb, (e) => {
          const bytes = encodeEventBinary(e)
          expect(bytes[0]).toBe(0x00)
          expect(bytes.length).toBeLessThan(Buffer.byteLength(encodeEvent(e)))
          expect(parseEvent(bytes)).toEqual({ _tag: 'Right', right: e })
          expect(parseEvent(bytes)).toEqual(parseEvent(encodeEvent(e)))
        }),
        { numRuns: 200 },
      )
    })
  }

  it('accepts and rejects exactly what the io-ts codec accepts and rejects, field by field', () => {
    fc.assert(
      fc.property(anyEvent, fc.nat(), anyValue, (e, n, bad) => {
        const fields = Object.keys(e).filter((k) => k !== 'type' && k !== 'v')
        const field = fields[n % fields.length] as string
        const mutated = { ...e, [field]: bad } as L2tpEvent
        const binary = parseEvent(encodeEventBinary(mutated))
        const json = parseEvent(encodeEvent(mutated))
        expect(binary._tag).toBe(json._tag)
        if (binary._tag === 'Right') expect(binary).toEqual(json)
        else expect(binary.left.problems.join('\n')).toContain(`.${field}`)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on truncated or corrupted records, and says why it rejects them', () => {
    fc.assert(
      fc.property(anyEvent, fc.nat(), fc.nat({ max: 255 }), (e, at, byte) => {
        const bytes = encodeEventBinary(e)
        const cut = bytes.subarray(0, at % bytes.length)
        const r = parseEvent(cut.length === 0 ? Buffer.from([0]) : cut)
        expect(r._tag).toBe('Left')
        const flipped = Buffer.from(bytes)
        flipped[4 + (at % (bytes.length - 4))] = byte
        const f = decodeBinaryEvent(flipped)
        if (f._tag === 'Left') expect(f.left.problems.length).toBeGreaterThan(0)
      }),
      { numRuns: 1000 },
    )
    expect(reason(parseEvent(Buffer.from([0, 9, 1, 1])))).toContain('format 9')
    expect(reason(parseEvent(Buffer.from([0, 1, 99, 1])))).toContain('unknown type id 99')
    const trailing = Buffer.concat([
      encodeEventBinary(fc.sample(anyEvent, 1)[0] as L2tpEvent),
      Buffer.from([0]),
    ])
    expect(reason(parseEvent(trailing))).toContain('after the record')
  })

  it('reads JSON records already on the topic, next to binary ones', () => {
    for (const e of fc.sample(anyEvent, 50)) {
      expect(parseEvent(Buffer.from(encodeEvent(e)))).toEqual({ _tag: 'Right', right: e })
      expect(parseEvent(Buffer.from(` \n${encodeEvent(e)}`))).toEqual({ _tag: 'Right', right: e })
    }
  })

  it('keeps format 1 byte for byte (field order is the wire format)', () => {
    const e = {
      type: 'SessionClosed',
      v: 1,
      endpointId: 'ep-1',
      epoch: 2,
      seq: 300,
      at: 1_700_000_000_000,
      nodeId: 'node-1',
      localTunnelId: 7,
      localSessionId: 65535,
      resultCode: 3,
      errorCode: null,
      message: 'bye',
      q931: { cause: 16, msg: -1, advisory: null },
      closedBy: 'operator',
    } as L2tpEvent
    const hex = encodeEventBinary(e).toString('hex')
    expect(hex).toBe(
      '00010601046570 2d31 04d804 80a0abfef962 066e6f64652d31 0efeff0706 00 0103627965 01 2001 00 02'.replace(
        / /g,
        '',
      ),
    )
    expect(parseEvent(Buffer.from(hex, 'hex'))).toEqual({ _tag: 'Right', right: e })
  })
})

describe('kcat frames (-f %R%s) to NDJSON', () => {
  it('reads binary and JSON records, names bad ones, and keeps a cut frame for the next chunk', () => {
    const [a, b] = fc.sample(anyEvent, 2) as [L2tpEvent, L2tpEvent]
    const frame = (v: Buffer | null) => {
      const len = Buffer.alloc(4)
      len.writeInt32BE(v === null ? -1 : v.length)
      return v === null ? len : Buffer.concat([len, v])
    }
    const stream = Buffer.concat([
      frame(encodeEventBinary(a)),
      frame(Buffer.from(encodeEvent(b))),
      frame(Buffer.from([0, 1, 99, 1])),
      frame(null),
      frame(encodeEventBinary(b)),
    ])
    const first = framesToNdjson(stream.subarray(0, stream.length - 3))
    expect(first.lines).toHaveLength(4)
    expect(JSON.parse(first.lines[0] as string)).toEqual(JSON.parse(encodeEvent(a)))
    expect(JSON.parse(first.lines[1] as string)).toEqual(JSON.parse(encodeEvent(b)))
    expect(first.lines[2]).toContain('unknown type id 99')
    expect(first.lines[3]).toContain('tombstone')
    const second = framesToNdjson(Buffer.concat([first.rest, stream.subarray(stream.length - 3)]))
    expect(second.lines).toEqual([encodeEvent(b)])
    expect(second.rest.length).toBe(0)
  })
})
