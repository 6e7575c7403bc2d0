// Value codecs for AVP payloads: fixed-size integers, bit sets, strings, composite layouts.
// Each decode gets the value octets (after un-hiding) and returns the value or a reason. Pure.

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string }
export interface ValueCodec<T> {
  readonly decode: (b: Uint8Array) => Decoded<T>
  readonly encode: (v: T) => Uint8Array
}

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value })
const bad = (reason: string): Decoded<never> => ({ ok: false, reason })
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)
const wrongLength = (want: string, got: number) => bad(`value length ${got}, expected ${want}`)

export const u16: ValueCodec<number> = {
  decode: (b) => (b.length === 2 ? ok(view(b).getUint16(0)) : wrongLength('2', b.length)),
  encode: (v) => Uint8Array.of(v >>> 8, v & 0xff),
}

export const u32: ValueCodec<number> = {
  decode: (b) => (b.length === 4 ? ok(view(b).getUint32(0)) : wrongLength('4', b.length)),
  encode: (v) => {
    const out = new Uint8Array(4)
    view(out).setUint32(0, v >>> 0)
    return out
  },
}

/** A u16 that must not be 0 (Assigned Tunnel/Session ID, RFC 2661 §4.4.3; Receive Window Size). */
export const nonZeroU16: ValueCodec<number> = {
  decode: (b) => {
    const r = u16.decode(b)
    return r.ok && r.value === 0 ? bad('value 0 is not allowed') : r
  },
  encode: u16.encode,
}

export const bytes = (min = 0, exact?: number): ValueCodec<Uint8Array> => ({
  decode: (b) =>
    exact !== undefined && b.length !== exact
      ? wrongLength(String(exact), b.length)
      : b.length < min
        ? wrongLength(`>= ${min}`, b.length)
        : ok(b.slice()),
  encode: (v) => v,
})

const utf8 = new TextDecoder('utf-8', { fatal: false })
const utf8e = new TextEncoder()

/** Text AVPs (Host Name, Vendor Name, numbers, messages): octets read as UTF-8. */
export const text = (min = 0): ValueCodec<string> => ({
  decode: (b) => (b.length < min ? wrongLength(`>= ${min}`, b.length) : ok(utf8.decode(b))),
  encode: (v) => utf8e.encode(v),
})

export const empty: ValueCodec<true> = {
  decode: (b) => (b.length === 0 ? ok(true) : wrongLength('0', b.length)),
  encode: () => new Uint8Array(0),
}

/** Two-bit capability masks carried in a u32 (Framing: 1 sync, 2 async; Bearer: 1 digital, 2 analog). */
export const bits2 = <A extends string, B extends string>(
  low: A,
  high: B,
): ValueCodec<Record<A | B, boolean>> => ({
  decode: (b) => {
    const r = u32.decode(b)
    if (!r.ok) return r
    return ok({ [low]: (r.value & 1) !== 0, [high]: (r.value & 2) !== 0 } as Record<A | B, boolean>)
  },
  encode: (v) => u32.encode((v[low] ? 1 : 0) | (v[high] ? 2 : 0)),
})

export interface ResultCode {
  readonly result: number
  readonly error: number | null
  readonly message: string | null
}
/** Result Code AVP 1: u16 result, optional u16 error, optional message (RFC 2661 §4.4.2). */
export const resultCode: ValueCodec<ResultCode> = {
  decode: (b) => {
    if (b.length !== 2 && b.length < 4) return wrongLength('2, 4 or more', b.length)
    const v = view(b)
    return ok({
      result: v.getUint16(0),
      error: b.length >= 4 ? v.getUint16(2) : null,
      message: b.length > 4 ? utf8.decode(b.subarray(4)) : null,
    })
  },
  encode: (r) => {
    const msg = r.message === null ? new Uint8Array(0) : utf8e.encode(r.message)
    const withError = r.error !== null || msg.length > 0
    const out = new Uint8Array(withError ? 4 + msg.length : 2)
    const v = view(out)
    v.setUint16(0, r.result)
    if (withError) v.setUint16(2, r.error ?? 0)
    if (withError) out.set(msg, 4)
    return out
  },
}

export interface ProtocolVersion {
  readonly ver: number
  readonly rev: number
}
export const protocolVersion: ValueCodec<ProtocolVersion> = {
  decode: (b) =>
    b.length === 2 ? ok({ ver: b[0] as number, rev: b[1] as number }) : wrongLength('2', b.length),
  encode: (p) => Uint8Array.of(p.ver, p.rev),
}

export interface Q931Cause {
  readonly cause: number
  readonly msg: number
  readonly advisory: string | null
}
/** Q.931 Cause Code AVP 12: u16 cause, u8 message, optional advisory text (RFC 2661 §4.4.4). */
export const q931: ValueCodec<Q931Cause> = {
  decode: (b) => {
    if (b.length < 3) return wrongLength('>= 3', b.length)
    return ok({
      cause: view(b).getUint16(0),
      msg: b[2] as number,
      advisory: b.length > 3 ? utf8.decode(b.subarray(3)) : null,
    })
  },
  encode: (q) => {
    const adv = q.advisory === null ? new Uint8Array(0) : utf8e.encode(q.advisory)
    const out = new Uint8Array(3 + adv.length)
    view(out).setUint16(0, q.cause)
    out[2] = q.msg
    out.set(adv, 3)
    return out
  },
}

export interface CallErrors {
  readonly crc: number
  readonly framing: number
  readonly hardwareOverruns: number
  readonly bufferOverruns: number
  readonly timeouts: number
  readonly alignment: number
}
const CALL_ERROR_FIELDS = [
  'crc',
  'framing',
  'hardwareOverruns',
  'bufferOverruns',
  'timeouts',
  'alignment',
] as const
/** Call Errors AVP 34: u16 reserved, six u32 counters (RFC 2661 §4.4.6). */
export const callErrors: ValueCodec<CallErrors> = {
  decode: (b) => {
    if (b.length !== 26) return wrongLength('26', b.length)
    const v = view(b)
    const at = (i: number) => v.getUint32(2 + 4 * i)
    return ok({
      crc: at(0),
      framing: at(1),
      hardwareOverruns: at(2),
      bufferOverruns: at(3),
      timeouts: at(4),
      alignment: at(5),
    })
  },
  encode: (c) => {
    const out = new Uint8Array(26)
    const v = view(out)
    CALL_ERROR_FIELDS.forEach((f, i) => {
      v.setUint32(2 + 4 * i, c[f] >>> 0)
    })
    return out
  },
}

export interface Accm {
  readonly send: number
  readonly receive: number
}
/** ACCM AVP 35: u16 reserved, u32 send, u32 receive (RFC 2661 §4.4.6). */
export const accm: ValueCodec<Accm> = {
  decode: (b) => {
    if (b.length !== 10) return wrongLength('10', b.length)
    const v = view(b)
    return ok({ send: v.getUint32(2), receive: v.getUint32(6) })
  },
  encode: (a) => {
    const out = new Uint8Array(10)
    const v = view(out)
    v.setUint32(2, a.send >>> 0)
    v.setUint32(6, a.receive >>> 0)
    return out
  },
}

/** Proxy Authen ID AVP 32: u8 reserved, u8 id (RFC 2661 §4.4.5). */
export const proxyAuthenId: ValueCodec<number> = {
  decode: (b) => (b.length === 2 ? ok(b[1] as number) : wrongLength('2', b.length)),
  encode: (id) => Uint8Array.of(0, id),
}

export interface FailoverCapability {
  readonly control: boolean
  readonly data: boolean
  readonly recoveryTimeMs: number
}
/** Failover Capability AVP 76: u16 flags (0x1 C, 0x2 D), u32 Recovery Time ms (RFC 4951 §5.1). */
export const failoverCapability: ValueCodec<FailoverCapability> = {
  decode: (b) => {
    if (b.length !== 6) return wrongLength('6', b.length)
    const v = view(b)
    const flags = v.getUint16(0)
    return ok({ control: (flags & 1) !== 0, data: (flags & 2) !== 0, recoveryTimeMs: v.getUint32(2) })
  },
  encode: (f) => {
    const out = new Uint8Array(6)
    const v = view(out)
    v.setUint16(0, (f.control ? 1 : 0) | (f.data ? 2 : 0))
    v.setUint32(2, f.recoveryTimeMs >>> 0)
    return out
  },
}

/** Two u16 ids at value offsets 4 and 8, with reserved u16s before each (AVPs 77 and 79, v2 layout). */
const idPair = <A extends string, B extends string>(a: A, b: B): ValueCodec<Record<A | B, number>> => ({
  decode: (x) => {
    if (x.length !== 10) return wrongLength('10', x.length)
    const v = view(x)
    return ok({ [a]: v.getUint16(4), [b]: v.getUint16(8) } as Record<A | B, number>)
  },
  encode: (p) => {
    const out = new Uint8Array(10)
    const v = view(out)
    v.setUint16(4, p[a])
    v.setUint16(8, p[b])
    return out
  },
})

/** Tunnel Recovery AVP 77 (RFC 4951 §5.2), sender's perspective. */
export const tunnelRecovery = idPair('recoverTunnelId', 'recoverRemoteTunnelId')
export type TunnelRecovery = { readonly recoverTunnelId: number; readonly recoverRemoteTunnelId: number }

/** Failover Session State AVP 79 (RFC 4951 §5.4): sender's session id, then the peer's. */
export const failoverSessionState = idPair('sessionId', 'remoteSessionId')
export type FailoverSessionState = { readonly sessionId: number; readonly remoteSessionId: number }

export interface SuggestedControlSequence {
  readonly ns: number
  readonly nr: number
}
/**
 * Suggested Control Sequence AVP 78 (RFC 4951 §5.3): u16 reserved, u16 Ns, u16 Nr. Also reads
 * the 16-octet OpenRPD variant (two u32) by their low 16 bits (rfc4951-failover.md §3.3).
 */
export const suggestedControlSequence: ValueCodec<SuggestedControlSequence> = {
  decode: (b) => {
    const v = view(b)
    if (b.length === 6) return ok({ ns: v.getUint16(2), nr: v.getUint16(4) })
    if (b.length === 10) return ok({ ns: v.getUint32(2) & 0xffff, nr: v.getUint32(6) & 0xffff })
    return wrongLength('6', b.length)
  },
  encode: (s) => {
    const out = new Uint8Array(6)
    const v = view(out)
    v.setUint16(2, s.ns)
    v.setUint16(4, s.nr)
    return out
  },
}
