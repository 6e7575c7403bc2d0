import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  Command,
  describeContractError,
  errorReply,
  okReply,
  parseRequest,
  REASON_MAX,
  Reply,
  TunnelId,
} from '../../contracts/index.js'
import { commandArbs } from '../support/arbitraries.js'

const bytes = (u: unknown) => new TextEncoder().encode(JSON.stringify(u))

describe('command codecs', () => {
  for (const [type, arb] of Object.entries(commandArbs)) {
    it(`${type} round-trips through JSON bytes`, () => {
      fc.assert(
        fc.property(arb, (c) => {
          expect(parseRequest(Command, bytes(Command.encode(c)))).toEqual({ _tag: 'Right', right: c })
        }),
        { numRuns: 100 },
      )
    })
  }

  it('an operator reason longer than one Result Code AVP can carry is refused', () => {
    const close = (reason: string) =>
      parseRequest(
        Command,
        bytes({ type: 'CloseTunnel', v: 1, endpointId: 'lns-a', localTunnelId: 1, reason }),
      )
    expect(close('é'.repeat(REASON_MAX))._tag).toBe('Right')
    const r = close('x'.repeat(REASON_MAX + 1))
    expect(r._tag).toBe('Left')
    if (r._tag === 'Left') expect(r.left.problems.join('\n')).toContain('at .reason: expected')
  })

  it('a bad request names the faulty path', () => {
    const r = parseRequest(
      Command,
      bytes({
        type: 'CloseSession',
        v: 1,
        endpointId: 'lns.a',
        localTunnelId: 1,
        localSessionId: 0,
        reason: null,
      }),
    )
    expect(r._tag).toBe('Left')
    if (r._tag !== 'Left') return
    const text = r.left.problems.join('\n')
    expect(text).toContain('at .endpointId: expected EndpointId, got "lns.a"')
    expect(text).toContain('at .localSessionId: expected SessionId, got 0')
    expect(parseRequest(Command, new TextEncoder().encode('{'))).toMatchObject({
      _tag: 'Left',
      left: { problems: ['not JSON'] },
    })
  })

  it('a request nested too deep to print is refused with a readable error, not a throw (issue 9 item 6)', () => {
    const deep = new TextEncoder().encode(`${'['.repeat(50_000)}${']'.repeat(50_000)}`)
    const r = parseRequest(Command, deep)
    expect(r._tag).toBe('Left')
    expect(r._tag === 'Left' && describeContractError(r.left)).toMatch(/got a deeply nested array/)
  })

  it('replies are ok with a result or an error with a code', () => {
    const R = Reply(TunnelId)
    expect(R.is(okReply(5))).toBe(true)
    expect(R.is(errorReply('NotFound', 'no such tunnel'))).toBe(true)
    expect(R.is({ ok: true, result: 0 })).toBe(false)
  })
})
