// Which AVPs each message MUST carry (RFC 2661 §6, RFC 4951 §7; l2tpv2.md §5.2), and the
// verdict on a received message's AVPs: unknown or malformed mandatory AVPs, missing ones. Pure.
import type { AvpField } from './avp-table.js'
import { ErrorCode, MessageType, TUNNEL_MESSAGES } from './constants.js'
import type { ControlMessage } from './message.js'

export const REQUIRED: Readonly<Record<number, readonly AvpField[]>> = {
  [MessageType.SCCRQ]: ['protocolVersion', 'hostName', 'framingCapabilities', 'assignedTunnelId'],
  [MessageType.SCCRP]: ['protocolVersion', 'framingCapabilities', 'hostName', 'assignedTunnelId'],
  [MessageType.SCCCN]: [],
  [MessageType.StopCCN]: ['assignedTunnelId', 'resultCode'],
  [MessageType.HELLO]: [],
  [MessageType.OCRQ]: [
    'assignedSessionId',
    'callSerialNumber',
    'minimumBps',
    'maximumBps',
    'bearerType',
    'framingType',
    'calledNumber',
  ],
  [MessageType.OCRP]: ['assignedSessionId'],
  [MessageType.OCCN]: ['txConnectSpeed', 'framingType'],
  [MessageType.ICRQ]: ['assignedSessionId', 'callSerialNumber'],
  [MessageType.ICRP]: ['assignedSessionId'],
  [MessageType.ICCN]: ['txConnectSpeed', 'framingType'],
  [MessageType.CDN]: ['resultCode', 'assignedSessionId'],
  [MessageType.WEN]: ['callErrors'],
  [MessageType.SLI]: ['accm'],
  [MessageType.FSQ]: ['failoverSessionStates'],
  [MessageType.FSR]: ['failoverSessionStates'],
}

/** A received message that must be refused: end the tunnel or the session, with these codes. */
export interface Violation {
  readonly scope: 'tunnel' | 'session'
  /** StopCCN 2 / CDN 2 "general error, see Error Code" (RFC 2661 §4.4.2). */
  readonly resultCode: number
  readonly errorCode: number
  readonly message: string
}

export const scopeOf = (type: number): 'tunnel' | 'session' =>
  TUNNEL_MESSAGES.has(type) ? 'tunnel' : 'session'

/**
 * Judges the AVPs of a known message type. Unknown M=1 AVP: error 8 naming the attribute
 * (L2-12, L2-13, L2-14). Malformed M=1 AVP: error 3 (RFC 2661 §7.1). Missing required AVP:
 * error 6 with the AVP named (the RFC fixes no code for it). M=0 problems are ignored (L2-11, L2-63).
 */
export const checkAvps = (m: ControlMessage): Violation | null => {
  if (m.type === null) return null
  const scope = scopeOf(m.type)
  const unknown = m.unknown.find((u) => u.mandatory)
  if (unknown !== undefined) {
    return {
      scope,
      resultCode: 2,
      errorCode: ErrorCode.UnknownMandatoryAvp,
      message: `unknown mandatory AVP vendor ${unknown.vendor} type ${unknown.type}`,
    }
  }
  const bad = m.malformed.find((x) => x.mandatory)
  if (bad !== undefined) {
    return {
      scope,
      resultCode: 2,
      errorCode: ErrorCode.OutOfRange,
      message: `malformed AVP ${bad.type}: ${bad.reason}`,
    }
  }
  const missing = (REQUIRED[m.type] ?? []).filter((f) => m.avps[f] === undefined)
  if (missing.length > 0) {
    return {
      scope,
      resultCode: 2,
      errorCode: ErrorCode.VendorSpecific,
      message: `missing required AVP ${missing.join(', ')}`,
    }
  }
  return null
}
