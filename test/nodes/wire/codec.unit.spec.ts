import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AVP_TABLE,
  type AvpField,
  type Avps,
  challengeResponse,
  decodePacket,
  encodeControl,
  hideValue,
  MAX_HIDDEN_AVPS,
  revealValue,
} from '../../../nodes/wire/index.js'
import { FIXTURES, fixtureHex } from './fixtures.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replaceAll(' ', ''), 'hex'))

const control = (d: Uint8Array, secret: Uint8Array | null = null) => {
  const r = decodePacket(d, secret)
  if (r._tag === 'Left' || r.right._tag !== 'Control')
    throw new Error(`not a control message: ${JSON.stringify(r)}`)
  return r.right.msg
}

describe('hex fixtures, both directions (every message type)', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: encode gives the hand-written bytes, decode gives the object back`, () => {
      const encoded = encodeControl(f.msg)
      expect(hex(encoded)).toBe(fixtureHex(f))
      // L2-01: every control message starts 0xC8 0x02; L2-04: Length = the whole message.
      expect(encoded[0]).toBe(0xc8)
      expect(encoded[1]).toBe(0x02)
      expect((encoded[2] as number) * 256 + (encoded[3] as number)).toBe(encoded.length)
      const m = control(bytes(fixtureHex(f)))
      expect(m.type).toBe(f.msg.type)
      expect({ tunnelId: m.tunnelId, sessionId: m.sessionId, ns: m.ns, nr: m.nr }).toEqual({
        tunnelId: f.msg.tunnelId,
        sessionId: f.msg.sessionId,
        ns: f.msg.ns,
        nr: f.msg.nr,
      })
      expect(m.avps).toEqual(f.msg.avps)
      expect(m.unknown).toEqual([])
      expect(m.malformed).toEqual([])
    })
  }

  it('L2-09: the first AVP of every non-ZLB message is Message Type, 0x8008 vendor 0 type 0 (0x0008 for FSQ/FSR)', () => {
    for (const f of FIXTURES) {
      if (f.msg.type === null) continue
      const e = encodeControl(f.msg)
      const word = hex(e.subarray(12, 18))
      expect(word).toBe(f.msg.type === 21 || f.msg.type === 22 ? '000800000000' : '800800000000')
    }
  })

  it('L2-10: AVP lengths tile the message exactly and reserved AVP bits are clear', () => {
    for (const f of FIXTURES) {
      const e = encodeControl(f.msg)
      let at = 12
      while (at < e.length) {
        const word = (e[at] as number) * 256 + (e[at + 1] as number)
        expect(word & 0x3c00).toBe(0)
        const len = word & 0x3ff
        expect(len).toBeGreaterThanOrEqual(6)
        at += len
      }
      expect(at).toBe(e.length)
    }
  })

  it('decodes AVPs in any order (only Message Type must come first)', () => {
    const f = FIXTURES[0]
    if (f === undefined) throw new Error('no fixture')
    const [first, ...rest] = f.avps
    const reordered = { ...f, avps: [first as string, ...rest.reverse()] }
    expect(control(bytes(fixtureHex(reordered))).avps).toEqual(f.msg.avps)
  })
})

describe('hidden AVPs (RFC 2661 §4.3)', () => {
  const secret = new TextEncoder().encode('s3cret')
  const rv = Uint8Array.from({ length: 16 }, (_, i) => i)
  /** An ICRQ (Assigned Session ID 0x4242, Call Serial Number 7) with `fields` hidden. */
  const hiddenIcrq = (fields: AvpField[]) =>
    encodeControl(
      {
        tunnelId: 1,
        sessionId: 0,
        ns: 0,
        nr: 0,
        type: 10,
        avps: { assignedSessionId: 0x4242, callSerialNumber: 7 },
      },
      { secret, randomVector: rv, fields: new Set(fields) },
    )
  // Vectors computed independently (Python hashlib) from the RFC's formulas.
  it('L2-19: one chunk: Assigned Tunnel ID 0x1234 hides to dcd6787c', () => {
    expect(hex(hideValue(bytes('1234'), 9, secret, rv))).toBe('dcd6787c')
    expect(hex(revealValue(bytes('dcd6787c'), 9, secret, rv) ?? new Uint8Array())).toBe('1234')
  })
  it('L2-19: two chunks chain on the previous ciphertext (20-octet Calling Number)', () => {
    const v = new TextEncoder().encode('01234567890123456789')
    const want = 'd7093a636b5eab61beb1eb84ef52f0dce4079c8f9427'
    expect(hex(hideValue(v, 22, secret, rv))).toBe(want)
    expect(revealValue(bytes(want), 22, secret, rv)).toEqual(v)
  })
  it('padding hides the real length; the u16 prefix still gives it', () => {
    const want = 'a3695a12c55ef62d0a4c08039b372125'
    expect(hex(hideValue(bytes('beef'), 14, secret, rv, new Uint8Array(12)))).toBe(want)
    expect(hex(revealValue(bytes(want), 14, secret, rv) ?? new Uint8Array())).toBe('beef')
  })
  it('L2-18: a hidden Assigned Session ID in a message is un-hidden with the nearest Random Vector', () => {
    const e = hiddenIcrq(['assignedSessionId', 'callSerialNumber'])
    const m = control(e, secret)
    expect(m.avps.assignedSessionId).toBe(0x4242)
    expect(m.avps.callSerialNumber).toBe(7)
    expect(m.hidden).toEqual([14, 15])
    // Without the secret the hidden mandatory AVPs are malformed (and the FSM refuses the call).
    expect(control(e).malformed.map((x) => x.type)).toEqual([14, 15])
  })
  it(`more than MAX_HIDDEN_AVPS (${MAX_HIDDEN_AVPS}) hidden AVPs in one message: malformed, with the reason`, () => {
    const e = hiddenIcrq(['assignedSessionId'])
    // The hidden Assigned Session ID AVP, found by its H bit (RFC 2661 §4.1), repeated.
    let at = 12
    let avp: Uint8Array | null = null
    while (at < e.length) {
      const len = (((e[at] as number) << 8) | (e[at + 1] as number)) & 0x3ff
      if (((e[at] as number) & 0x40) !== 0) avp = e.slice(at, at + len)
      at += len
    }
    if (avp === null) throw new Error('no hidden AVP')
    const withHidden = (n: number): Uint8Array => {
      const out = new Uint8Array(e.length + (n - 1) * avp.length)
      out.set(e)
      for (let i = 1; i < n; i++) out.set(avp, e.length + (i - 1) * avp.length)
      out[2] = out.length >> 8
      out[3] = out.length & 0xff
      return out
    }
    expect(decodePacket(withHidden(MAX_HIDDEN_AVPS), secret)._tag).toBe('Right')
    expect(decodePacket(withHidden(MAX_HIDDEN_AVPS + 1), secret)).toMatchObject({
      _tag: 'Left',
      left: { _tag: 'MalformedAvp', reason: `more than ${MAX_HIDDEN_AVPS} hidden AVPs in one message` },
    })
  })
  it('L2-20: AVPs that MUST NOT be hidden are sent in clear even when asked', () => {
    const e = encodeControl(
      {
        tunnelId: 1,
        sessionId: 0,
        ns: 0,
        nr: 0,
        type: 1,
        avps: {
          hostName: 'h',
          protocolVersion: { ver: 1, rev: 0 },
          receiveWindowSize: 4,
          tieBreaker: new Uint8Array(8),
        },
      },
      {
        secret,
        randomVector: rv,
        fields: new Set(['hostName', 'protocolVersion', 'receiveWindowSize', 'tieBreaker']),
      },
    )
    expect(control(e, secret).hidden).toEqual([])
    for (let at = 12; at < e.length; ) {
      const word = (e[at] as number) * 256 + (e[at + 1] as number)
      expect(word & 0x4000).toBe(0)
      at += word & 0x3ff
    }
  })
  it('an AVP value longer than the 10-bit Length allows is cut at 1017 octets, never corrupting the flags', () => {
    const e = encodeControl({
      tunnelId: 1,
      sessionId: 0,
      ns: 0,
      nr: 0,
      type: 4,
      avps: {
        assignedTunnelId: 7,
        resultCode: { result: 1, error: 0, message: 'x'.repeat(2000) },
      },
    })
    for (let at = 12; at < e.length; ) {
      const word = (e[at] as number) * 256 + (e[at + 1] as number)
      expect(word & 0x3c00).toBe(0) // reserved bits clear: the length did not spill into them
      at += word & 0x3ff
    }
    const m = control(e)
    expect(m.malformed).toEqual([])
    expect(m.avps.resultCode?.message?.length).toBe(1017 - 4)
  })
  it('L2-30: challenge response is MD5(ID ‖ secret ‖ challenge) with ID 2 in SCCRP, 3 in SCCCN', () => {
    // md5(02 ‖ "s3cret" ‖ 00..0f) and md5(03 ‖ ...) computed independently (Python hashlib).
    expect(hex(challengeResponse(2, secret, rv))).toBe('d7cdc58ae8fec2b994e7edd0b94bd8a1')
    expect(hex(challengeResponse(3, secret, rv))).toBe('643b6ad81fd3825766d396d21886acb3')
  })
})

const valueArb: Record<string, fc.Arbitrary<unknown>> = {
  resultCode: fc.record({
    result: fc.integer({ min: 0, max: 65535 }),
    error: fc.integer({ min: 0, max: 65535 }),
    message: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }),
  }),
  protocolVersion: fc.record({
    ver: fc.integer({ min: 0, max: 255 }),
    rev: fc.integer({ min: 0, max: 255 }),
  }),
  framingCapabilities: fc.record({ sync: fc.boolean(), async: fc.boolean() }),
  bearerCapabilities: fc.record({ digital: fc.boolean(), analog: fc.boolean() }),
  tieBreaker: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  hostName: fc.string({ minLength: 1, maxLength: 30 }),
  q931CauseCode: fc.record({
    cause: fc.integer({ min: 0, max: 65535 }),
    msg: fc.integer({ min: 0, max: 255 }),
    advisory: fc.option(fc.string({ minLength: 1, maxLength: 10 }), { nil: null }),
  }),
  challengeResponse: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  bearerType: fc.record({ digital: fc.boolean(), analog: fc.boolean() }),
  framingType: fc.record({ sync: fc.boolean(), async: fc.boolean() }),
  callErrors: fc.record({
    crc: fc.nat(),
    framing: fc.nat(),
    hardwareOverruns: fc.nat(),
    bufferOverruns: fc.nat(),
    timeouts: fc.nat(),
    alignment: fc.nat(),
  }),
  accm: fc.record({
    send: fc.integer({ min: 0, max: 0xffffffff }),
    receive: fc.integer({ min: 0, max: 0xffffffff }),
  }),
  proxyAuthenId: fc.integer({ min: 0, max: 255 }),
  sequencingRequired: fc.constant(true),
  failoverCapability: fc.record({
    control: fc.boolean(),
    data: fc.boolean(),
    recoveryTimeMs: fc.integer({ min: 0, max: 0xffffffff }),
  }),
  tunnelRecovery: fc.record({
    recoverTunnelId: fc.integer({ min: 0, max: 65535 }),
    recoverRemoteTunnelId: fc.integer({ min: 0, max: 65535 }),
  }),
  suggestedControlSequence: fc.record({
    ns: fc.integer({ min: 0, max: 65535 }),
    nr: fc.integer({ min: 0, max: 65535 }),
  }),
  failoverSessionStates: fc.array(
    fc.record({
      sessionId: fc.integer({ min: 0, max: 65535 }),
      remoteSessionId: fc.integer({ min: 0, max: 65535 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
}

const arbFor = (field: string, codecName: string): fc.Arbitrary<unknown> => {
  const known = valueArb[field]
  if (known !== undefined) return known
  if (['assignedTunnelId', 'assignedSessionId', 'receiveWindowSize'].includes(field))
    return fc.integer({ min: 1, max: 65535 })
  if (['firmwareRevision', 'proxyAuthenType'].includes(field)) return fc.integer({ min: 0, max: 65535 })
  if (['vendorName', 'calledNumber', 'callingNumber', 'subAddress'].includes(field))
    return fc.string({ maxLength: 30 })
  if (['challenge', 'proxyAuthenChallenge'].includes(field))
    return fc.uint8Array({ minLength: 1, maxLength: 40 })
  if (codecName === 'bytes') return fc.uint8Array({ maxLength: 40 })
  return fc.integer({ min: 0, max: 0xffffffff })
}

describe('every AVP round-trips (encode -> decode), in clear and hidden where allowed', () => {
  const secret = new TextEncoder().encode('k')
  for (const spec of AVP_TABLE) {
    it(`AVP ${spec.type} ${spec.field}`, () => {
      const sample = spec.codec.encode as unknown
      fc.assert(
        fc.property(
          arbFor(
            spec.field,
            typeof sample === 'function' && spec.field.endsWith('Confreq')
              ? 'bytes'
              : ['proxyAuthenName', 'proxyAuthenResponse', 'privateGroupId'].includes(spec.field)
                ? 'bytes'
                : 'int',
          ),
          fc.boolean(),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
          (value, hidden, rv) => {
            const avps = { [spec.field]: value } as Avps
            const e = encodeControl(
              { tunnelId: 1, sessionId: 2, ns: 3, nr: 4, type: 6, avps },
              hidden ? { secret, randomVector: rv, fields: new Set([spec.field]) } : undefined,
            )
            const m = control(e, secret)
            expect(m.avps).toEqual(avps)
            expect(m.hidden.length > 0).toBe(hidden && spec.hideable)
          },
        ),
        { numRuns: 60 },
      )
    })
  }
})
