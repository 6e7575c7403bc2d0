// Control messages <-> bytes (RFC 2661 §3, §4): AVP walk driven by the AVP table, hidden AVPs,
// unknown and malformed AVPs kept for the FSM to judge by their M bit. Never throws. Pure.
import { AVP_BY_TYPE, type AvpField, type Avps, ENCODE_ORDER } from './avp-table.js'
import {
  AVP_H,
  AVP_HEADER_LEN,
  AVP_LENGTH_MASK,
  AVP_M,
  AVP_MAX_LEN,
  AVP_RESERVED,
  AvpType,
  CONTROL_HEADER_LEN,
  MessageType,
} from './constants.js'
import type { WireError } from './errors.js'
import { decodeHeader, type Header, writeControlHeader } from './header.js'
import { hideValue, revealValue } from './hidden.js'

export interface UnknownAvp {
  readonly vendor: number
  readonly type: number
  readonly mandatory: boolean
  readonly value: Uint8Array
}
export interface MalformedAvp {
  readonly type: number
  readonly mandatory: boolean
  readonly reason: string
}

export interface ControlMessage {
  readonly tunnelId: number
  readonly sessionId: number
  readonly ns: number
  readonly nr: number
  /** Message Type, or null for a ZLB acknowledgement (header only). */
  readonly type: number | null
  /** M bit of the Message Type AVP: whether an unknown type must clear the tunnel (RFC 2661 §4.2). */
  readonly typeMandatory: boolean
  readonly avps: Avps
  /** Attribute types that arrived hidden (for tests and logs). */
  readonly hidden: readonly number[]
  /** Unrecognised AVPs (unknown type or vendor, or reserved flag bits set: L2-14). */
  readonly unknown: readonly UnknownAvp[]
  /** Known AVPs whose value did not parse or could not be un-hidden. */
  readonly malformed: readonly MalformedAvp[]
}

export interface DataMessage {
  readonly tunnelId: number
  readonly sessionId: number
  readonly ns: number | null
  readonly priority: boolean
  readonly payload: Uint8Array
}

export type Packet =
  | { readonly _tag: 'Control'; readonly msg: ControlMessage }
  | { readonly _tag: 'Data'; readonly msg: DataMessage }
export type DecodeResult =
  | { readonly _tag: 'Left'; readonly left: WireError }
  | { readonly _tag: 'Right'; readonly right: Packet }

const left = (e: WireError): DecodeResult => ({ _tag: 'Left', left: e })

/** The shared secret that un-hides AVPs of a message to this (header) Tunnel ID, if any. */
export type SecretLookup = Uint8Array | null | ((tunnelId: number) => Uint8Array | null)

/** Decodes one datagram. Hidden AVPs need the secret; without it they are malformed. */
export const decodePacket = (d: Uint8Array, secretFor: SecretLookup = null): DecodeResult => {
  const h = decodeHeader(d)
  if (!h.ok) return left(h.error)
  const header = h.header
  const secret = typeof secretFor === 'function' ? secretFor(header.tunnelId) : secretFor
  if (!header.control) {
    return {
      _tag: 'Right',
      right: {
        _tag: 'Data',
        msg: {
          tunnelId: header.tunnelId,
          sessionId: header.sessionId,
          ns: header.ns,
          priority: header.priority,
          payload: d.subarray(header.bodyOffset, header.end),
        },
      },
    }
  }
  const body = decodeAvps(d, header, secret)
  return 'left' in body ? left(body.left) : { _tag: 'Right', right: { _tag: 'Control', msg: body } }
}

/**
 * Hidden AVPs one message may carry (each costs an MD5 per 16 octets to reveal, RFC 2661 §4.3).
 * The most any message of RFC 2661/4951 hides is a handful (SCCCN/ICRQ/ICCN: under 10); a message
 * past this is malformed and dropped before the next reveal.
 */
export const MAX_HIDDEN_AVPS = 32

/** What one message's AVPs decode into, filled AVP by AVP (takeAvp). */
interface AvpScan {
  readonly avps: Avps
  readonly hidden: number[]
  readonly unknown: UnknownAvp[]
  readonly malformed: MalformedAvp[]
  /** The last Random Vector seen: it reveals the hidden AVPs after it (RFC 2661 §4.3). */
  randomVector: Uint8Array | null
  hiddenSeen: number
}

/** One AVP's header fields (RFC 2661 §4.1), read into one reused record: no allocation per AVP. */
const avp = { flags: 0, len: 0, vendor: 0, attr: 0 }

const readAvpHeader = (v: DataView, at: number, end: number): WireError | null => {
  if (at + AVP_HEADER_LEN > end)
    return { _tag: 'MalformedAvp', offset: at, avpType: null, reason: 'truncated AVP header' }
  avp.flags = v.getUint16(at)
  avp.len = avp.flags & AVP_LENGTH_MASK
  avp.vendor = v.getUint16(at + 2)
  avp.attr = v.getUint16(at + 4)
  if (avp.len < AVP_HEADER_LEN || at + avp.len > end)
    return {
      _tag: 'MalformedAvp',
      offset: at,
      avpType: avp.attr,
      reason: `length ${avp.len} does not fit the message`,
    }
  return null
}

const decodeAvps = (
  d: Uint8Array,
  header: Header,
  secret: Uint8Array | null,
): ControlMessage | { left: WireError } => {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength)
  let at = header.bodyOffset
  // Message Type MUST be the first AVP (RFC 2661 §4.4.1); a ZLB has none (§5.8).
  let type: number | null = null
  let typeMandatory = true
  if (at < header.end) {
    const bad = readAvpHeader(v, at, header.end)
    if (bad !== null) return { left: bad }
    if (avp.vendor !== 0 || avp.attr !== AvpType.MessageType)
      return { left: { _tag: 'MissingMessageType', offset: at } }
    if (avp.len - AVP_HEADER_LEN !== 2)
      return { left: { _tag: 'MalformedAvp', offset: at, avpType: 0, reason: 'Message Type length' } }
    type = v.getUint16(at + AVP_HEADER_LEN)
    typeMandatory = (avp.flags & AVP_M) !== 0
    at += avp.len
  }
  const scan: AvpScan = {
    avps: {},
    hidden: [],
    unknown: [],
    malformed: [],
    randomVector: null,
    hiddenSeen: 0,
  }
  while (at < header.end) {
    const bad =
      readAvpHeader(v, at, header.end) ??
      takeAvp(scan, d.subarray(at + AVP_HEADER_LEN, at + avp.len), at, secret)
    if (bad !== null) return { left: bad }
    at += avp.len
  }
  return {
    tunnelId: header.tunnelId,
    sessionId: header.sessionId,
    ns: header.ns ?? 0,
    nr: header.nr ?? 0,
    type,
    typeMandatory,
    avps: scan.avps,
    hidden: scan.hidden,
    unknown: scan.unknown,
    malformed: scan.malformed,
  }
}

/**
 * One AVP after the Message Type (its header in `avp`): a Random Vector is kept for the hidden
 * AVPs after it; an unknown one is listed (L2-14); a hidden one is revealed (§4.3; at most
 * MAX_HIDDEN_AVPS per message, else the message is malformed); a value its codec refuses is
 * listed as malformed (the caller decides by its M bit, §4.1). Only the hidden cap is fatal.
 */
const takeAvp = (
  scan: AvpScan,
  value: Uint8Array,
  at: number,
  secret: Uint8Array | null,
): WireError | null => {
  const { flags, vendor, attr } = avp
  const mandatory = (flags & AVP_M) !== 0
  const standard = vendor === 0 && (flags & AVP_RESERVED) === 0
  if (standard && attr === AvpType.RandomVector) {
    scan.randomVector = value.slice()
    return null
  }
  const spec = standard ? AVP_BY_TYPE.get(attr) : undefined
  if (spec === undefined) {
    scan.unknown.push({ vendor, type: attr, mandatory, value: value.slice() })
    return null
  }
  let plain: Uint8Array | null = value
  if ((flags & AVP_H) !== 0) {
    if (++scan.hiddenSeen > MAX_HIDDEN_AVPS)
      return {
        _tag: 'MalformedAvp',
        offset: at,
        avpType: attr,
        reason: `more than ${MAX_HIDDEN_AVPS} hidden AVPs in one message`,
      }
    plain =
      secret === null || scan.randomVector === null
        ? null
        : revealValue(value, attr, secret, scan.randomVector)
    if (plain === null) {
      const reason = secret === null ? 'hidden, and no shared secret' : 'hidden value does not reveal'
      scan.malformed.push({ type: attr, mandatory, reason })
      return null
    }
    scan.hidden.push(attr)
  }
  const r = spec.codec.decode(plain)
  if (!r.ok) scan.malformed.push({ type: attr, mandatory, reason: r.reason })
  else setField(scan.avps, spec.field, r.value, spec.repeated === true)
  return null
}

const setField = (avps: Avps, field: AvpField, value: unknown, repeated: boolean): void => {
  const rec = avps as Record<string, unknown>
  if (repeated) {
    const list = (rec[field] as unknown[] | undefined) ?? []
    list.push(value)
    rec[field] = list
  } else rec[field] = value
}

// --- encoding -------------------------------------------------------------------------------

export interface OutgoingControl {
  readonly tunnelId: number
  readonly sessionId: number
  readonly ns: number
  readonly nr: number
  /** null: a ZLB. */
  readonly type: number | null
  /** Defaults to true, false for FSQ/FSR (RFC 4951 §7: M=0 so old peers ignore them). */
  readonly typeMandatory?: boolean
  readonly avps: Avps
  /** Raw AVPs appended as they are (vendor AVPs; test peers use it to send unknown ones). */
  readonly extra?: readonly RawAvp[]
}

export interface RawAvp {
  readonly vendor: number
  readonly type: number
  readonly mandatory: boolean
  readonly hidden?: boolean
  /** Extra flag bits (tests set reserved bits with it, L2-14). */
  readonly flags?: number
  readonly value: Uint8Array
}

export interface HideOptions {
  readonly secret: Uint8Array
  readonly randomVector: Uint8Array
  /** Fields to hide; fields that MUST NOT be hidden (L2-20) are sent in clear regardless. */
  readonly fields: ReadonlySet<AvpField>
  readonly padding?: Uint8Array
}

/** Most octets an AVP value can carry: 1023 (the 10-bit Length) less the 6-octet header. */
const AVP_MAX_VALUE = 0x3ff - AVP_HEADER_LEN

interface Part {
  readonly flags: number
  readonly vendor: number
  readonly type: number
  readonly value: Uint8Array
}

/** Encodes a control message (or ZLB). Message Type first, Random Vector before hidden AVPs. */
export const encodeControl = (m: OutgoingControl, hide?: HideOptions): Uint8Array => {
  const parts: Part[] = []
  if (m.type !== null) {
    const mandatory = m.typeMandatory ?? !(m.type === MessageType.FSQ || m.type === MessageType.FSR)
    parts.push({
      flags: mandatory ? AVP_M : 0,
      vendor: 0,
      type: AvpType.MessageType,
      value: Uint8Array.of(m.type >>> 8, m.type & 0xff),
    })
    const rec = m.avps as Record<string, unknown>
    let rvAt = -1
    for (const spec of ENCODE_ORDER) {
      const raw = rec[spec.field]
      if (raw === undefined) continue
      const hiding = hide !== undefined && spec.hideable && hide.fields.has(spec.field)
      if (hiding && rvAt < 0) {
        rvAt = parts.length
        parts.push({ flags: AVP_M, vendor: 0, type: AvpType.RandomVector, value: hide.randomVector })
      }
      for (const item of spec.repeated ? (raw as unknown[]) : [raw]) {
        const value = spec.codec.encode(item)
        parts.push(
          hiding
            ? {
                flags: (spec.mandatory ? AVP_M : 0) | AVP_H,
                vendor: 0,
                type: spec.type,
                value: hideValue(
                  value,
                  spec.type,
                  hide.secret,
                  hide.randomVector,
                  hide.padding ?? padTo16(value.length, hide.randomVector),
                ),
              }
            : { flags: spec.mandatory ? AVP_M : 0, vendor: 0, type: spec.type, value },
        )
      }
    }
    // The Random Vector must precede the first hidden AVP: move it right after Message Type.
    if (rvAt > 1) parts.splice(1, 0, ...parts.splice(rvAt, 1))
    for (const x of m.extra ?? []) {
      parts.push({
        flags: (x.mandatory ? AVP_M : 0) | (x.hidden ? AVP_H : 0) | (x.flags ?? 0),
        vendor: x.vendor,
        type: x.type,
        value: x.value,
      })
    }
  }
  // RFC 2661 §4.1: an AVP's Length is 10 bits (at most 1023 octets with its 6-octet header). A
  // longer value would overflow into the flag bits and corrupt the message, so it is cut.
  for (const [i, p] of parts.entries())
    if (p.value.length > AVP_MAX_VALUE) parts[i] = { ...p, value: p.value.subarray(0, AVP_MAX_VALUE) }
  let length = CONTROL_HEADER_LEN
  for (const p of parts) length += AVP_HEADER_LEN + p.value.length
  const out = new Uint8Array(length)
  writeControlHeader(out, length, m.tunnelId, m.sessionId, m.ns, m.nr)
  let at = CONTROL_HEADER_LEN
  for (const p of parts) {
    const len = AVP_HEADER_LEN + p.value.length
    const word = p.flags | len
    out[at] = word >>> 8
    out[at + 1] = word & 0xff
    out[at + 2] = p.vendor >>> 8
    out[at + 3] = p.vendor & 0xff
    out[at + 4] = p.type >>> 8
    out[at + 5] = p.type & 0xff
    out.set(p.value, at + AVP_HEADER_LEN)
    at += len
  }
  return out
}

/**
 * Default padding of a hidden value: up to a multiple of 16 octets (at least 16) of subformat,
 * which hides short values' lengths (RFC 2661 §4.3) and is what l2tpns requires ("Short hidden
 * AVP" otherwise). The octets come from the message's Random Vector: random, and no extra input.
 */
const padTo16 = (valueLength: number, rv: Uint8Array): Uint8Array => {
  const sub = 2 + valueLength
  const want = Math.max(16, Math.ceil(sub / 16) * 16) - sub
  const out = new Uint8Array(want)
  for (let i = 0; i < want; i++) out[i] = rv.length === 0 ? 0 : (rv[i % rv.length] as number)
  return out
}

/** Rewrites Nr in an encoded control message (retransmission: same Ns, current Nr, RFC 2661 §5.8). */
export const patchNr = (encoded: Uint8Array, nr: number): void => {
  encoded[10] = (nr >>> 8) & 0xff
  encoded[11] = nr & 0xff
}

export const MAX_AVP_VALUE = AVP_MAX_LEN - AVP_HEADER_LEN
