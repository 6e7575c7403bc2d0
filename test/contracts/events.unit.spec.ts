import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeEvent,
  encodeEvent,
  type L2tpEvent,
  parseEvent,
  SessionEstablishedV1,
  upcastSessionEstablishedV1,
} from '../../contracts/index.js'
import { anyEvent, eventArbs } from '../support/arbitraries.js'

const problems = (u: unknown): string[] => {
  const r = decodeEvent(u)
  if (r._tag === 'Right') throw new Error('expected a decode failure')
  return [...r.left.problems]
}

describe('event codecs', () => {
  for (const [type, arb] of Object.entries(eventArbs)) {
    it(`${type} round-trips through JSON bytes`, () => {
      fc.assert(
        fc.property(arb, (e) => {
          const back = parseEvent(Buffer.from(encodeEvent(e)))
          expect(back).toEqual({ _tag: 'Right', right: e })
        }),
        { numRuns: 200 },
      )
    })
  }

  it('a wrong value in any field fails with the path of that field', () => {
    // -1.5 and {a: 1} are invalid for every field of every event (ints, strings, enums, objects).
    fc.assert(
      fc.property(anyEvent, fc.nat(), fc.constantFrom<unknown>(-1.5, { a: 1 }), (e, n, bad) => {
        const fields = Object.keys(e).filter((k) => k !== 'type' && k !== 'v')
        const field = fields[n % fields.length] as string
        const r = decodeEvent({ ...e, [field]: bad })
        expect(r._tag).toBe('Left')
        if (r._tag === 'Left') expect(r.left.problems.join('\n')).toContain(`at .${field}`)
      }),
      { numRuns: 500 },
    )
  })

  it('reports nested paths, e.g. the port of the peer address', () => {
    const e = fc.sample(eventArbs.TunnelEstablished, 1)[0] as L2tpEvent & { peer: object }
    const lines = problems({ ...e, peer: { host: '127.0.0.1', port: 0 } })
    expect(lines.join('\n')).toMatch(/at \.peer\.port: expected Port, got 0/)
  })

  it('rejects ids outside the RFC range 1..65535 (RFC 2661 §3.1)', () => {
    const e = fc.sample(eventArbs.TunnelClosed, 1)[0] as L2tpEvent
    expect(problems({ ...e, localTunnelId: 0 }).join()).toContain(
      'at .localTunnelId: expected TunnelId, got 0',
    )
    expect(problems({ ...e, localTunnelId: 65536 }).join()).toContain('at .localTunnelId')
  })

  it('names an unknown type or version instead of guessing', () => {
    expect(problems({ type: 'TunnelExploded', v: 1 }).join()).toContain('unknown event type "TunnelExploded"')
    const e = fc.sample(eventArbs.TunnelClosed, 1)[0] as L2tpEvent
    expect(problems({ ...e, v: 9 }).join()).toContain('TunnelClosed has versions 1, got 9')
    expect(problems('not an object').join()).toContain('expected an object')
    const notJson = parseEvent('{"type":')
    expect(notJson._tag === 'Left' && notJson.left.problems[0]).toMatch(/^not JSON/)
  })

  it('accepts unknown extra fields on decode and never writes them back (forward compatibility)', () => {
    fc.assert(
      fc.property(anyEvent, (e) => {
        const withExtra = { ...e, addedInTheFuture: 42 }
        const r = decodeEvent(withExtra)
        expect(r._tag).toBe('Right')
        const text = encodeEvent(withExtra as L2tpEvent)
        expect(JSON.parse(text)).not.toHaveProperty('addedInTheFuture')
      }),
      { numRuns: 100 },
    )
  })
})

describe('upcasting an older event version', () => {
  it('reads SessionEstablished v1 (one connectSpeed) as v2 (TX speed, no RX speed)', () => {
    const v1 = {
      type: 'SessionEstablished',
      v: 1,
      endpointId: 'lns-a',
      epoch: 3,
      seq: 17,
      at: 1_700_000_000_000,
      nodeId: 'node-1',
      localTunnelId: 7,
      localSessionId: 9,
      remoteSessionId: 11,
      callSerial: 5,
      direction: 'incoming',
      framing: 'sync',
      bearer: null,
      connectSpeed: 54_000,
      callingNumber: '555',
      calledNumber: null,
      sequencing: true,
    }
    expect(SessionEstablishedV1.is(v1)).toBe(true)
    const r = parseEvent(JSON.stringify(v1))
    expect(r._tag).toBe('Right')
    if (r._tag !== 'Right' || r.right.type !== 'SessionEstablished') return
    expect(r.right.v).toBe(2)
    expect(r.right.txConnectSpeed).toBe(54_000)
    expect(r.right.rxConnectSpeed).toBeNull()
    expect(r.right.physicalChannelId).toBeNull()
    expect(r.right).not.toHaveProperty('connectSpeed')
    expect(r.right).toEqual(upcastSessionEstablishedV1(v1 as SessionEstablishedV1))
    // A v1 with a bad field still reports the path.
    expect(problems({ ...v1, connectSpeed: -5 }).join()).toContain('at .connectSpeed')
  })
})
