// Small codecs shared by events and commands: unsigned ints, enums, L2TP capabilities. Pure.
import * as t from 'io-ts'

/**
 * An integer that stays a plain number (t.Int would brand every count and code). Named 'Int' so
 * the binary encoding treats it exactly as t.Int (event-binary.ts: an unsigned varint).
 */
const Integer = t.refinement(t.number, (n) => Number.isInteger(n), 'Int')
const intIn = (name: string, lo: number, hi: number) => t.refinement(Integer, (n) => n >= lo && n <= hi, name)

export const U16 = intIn('U16', 0, 0xffff)
export const U32 = intIn('U32', 0, 0xffffffff)
export const Count = intIn('Count', 0, Number.MAX_SAFE_INTEGER)
/** Receive Window Size AVP 10: 1..65535, 4 when absent (RFC 2661 §4.4.3, §5.8). */
export const WindowSize = intIn('WindowSize', 1, 0xffff)

export const nullable = <C extends t.Mixed>(c: C) => t.union([c, t.null])

export const Role = t.keyof({ LAC: null, LNS: null }, 'Role')
export type Role = t.TypeOf<typeof Role>

/** Which side sent SCCRQ / ICRQ / OCRQ. */
export const Originator = t.keyof({ local: null, peer: null }, 'Originator')
export type Originator = t.TypeOf<typeof Originator>

/** Who ended a tunnel or session: this side, the peer, an operator command, or no response. */
export const ClosedBy = t.keyof(
  { local: null, peer: null, operator: null, timeout: null, recovery: null },
  'ClosedBy',
)
export type ClosedBy = t.TypeOf<typeof ClosedBy>

/** Framing Capabilities AVP 3 (RFC 2661 §4.4.3): bit 31 = A (async), bit 30 = S (sync). */
export const FramingCaps = t.type({ sync: t.boolean, async: t.boolean }, 'FramingCaps')
export type FramingCaps = t.TypeOf<typeof FramingCaps>

/** Bearer Capabilities AVP 4 (RFC 2661 §4.4.3): A (analog), D (digital). */
export const BearerCaps = t.type({ digital: t.boolean, analog: t.boolean }, 'BearerCaps')
export type BearerCaps = t.TypeOf<typeof BearerCaps>

/** Failover Capability AVP 76 (RFC 4951 §5.1): C and D bits, Recovery Time in ms. */
export const FailoverCapability = t.type(
  { control: t.boolean, data: t.boolean, recoveryTimeMs: U32 },
  'FailoverCapability',
)
export type FailoverCapability = t.TypeOf<typeof FailoverCapability>

/** Call direction: incoming (ICRQ) or outgoing (OCRQ) (RFC 2661 §7.4, §7.5). */
export const CallDirection = t.keyof({ incoming: null, outgoing: null }, 'CallDirection')
export type CallDirection = t.TypeOf<typeof CallDirection>

/** Framing Type AVP 19 (RFC 2661 §4.4.5). */
export const Framing = t.keyof({ sync: null, async: null }, 'Framing')
export type Framing = t.TypeOf<typeof Framing>

/** Bearer Type AVP 18 (RFC 2661 §4.4.5). */
export const Bearer = t.keyof({ digital: null, analog: null }, 'Bearer')
export type Bearer = t.TypeOf<typeof Bearer>

/** Q.931 Cause Code AVP 12 (RFC 2661 §4.4.4). */
export const Q931Cause = t.type({ cause: U16, msg: t.Int, advisory: nullable(t.string) }, 'Q931Cause')
export type Q931Cause = t.TypeOf<typeof Q931Cause>
