// Why a datagram could not be read. Decoding never throws: it returns one of these. Pure.

export type WireError =
  /** Header Ver=1: L2F, which we do not speak; silently discarded (RFC 2661 §3.1, L2-03). */
  | { readonly _tag: 'L2F' }
  /** Any other version than 2 (e.g. 3, L2TPv3 over UDP): discarded (L2-03). */
  | { readonly _tag: 'BadVersion'; readonly version: number }
  /** Header too short, Length inconsistent, control flags wrong: discarded (RFC 2661 §7.1). */
  | { readonly _tag: 'MalformedHeader'; readonly offset: number; readonly reason: string }
  /** AVP framing broken (length under 6 or past the message end): the message is unreadable. */
  | {
      readonly _tag: 'MalformedAvp'
      readonly offset: number
      readonly avpType: number | null
      readonly reason: string
    }
  /** A non-ZLB control message whose first AVP is not Message Type (RFC 2661 §4.4.1, L2-09). */
  | { readonly _tag: 'MissingMessageType'; readonly offset: number }

export const describeWireError = (e: WireError): string => {
  switch (e._tag) {
    case 'L2F':
      return 'L2F packet (version 1), not supported'
    case 'BadVersion':
      return `unsupported version ${e.version}`
    case 'MalformedHeader':
      return `malformed header at ${e.offset}: ${e.reason}`
    case 'MalformedAvp':
      return `malformed AVP${e.avpType === null ? '' : ` ${e.avpType}`} at ${e.offset}: ${e.reason}`
    case 'MissingMessageType':
      return `first AVP at ${e.offset} is not Message Type`
  }
}
