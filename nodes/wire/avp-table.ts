// The AVP table (RFC 2661 §4.4, RFC 4951 §5): attribute type -> field name, value codec,
// the M bit we send, whether it may be hidden. Decode and encode are driven from it. Pure.

import {
  type Accm,
  accm,
  bits2,
  bytes,
  type CallErrors,
  callErrors,
  empty,
  type FailoverCapability,
  type FailoverSessionState,
  failoverCapability,
  failoverSessionState,
  nonZeroU16,
  type ProtocolVersion,
  protocolVersion,
  proxyAuthenId,
  type Q931Cause,
  q931,
  type ResultCode,
  resultCode,
  type SuggestedControlSequence,
  suggestedControlSequence,
  type TunnelRecovery,
  text,
  tunnelRecovery,
  u16,
  u32,
  type ValueCodec,
} from './avp-values.js'
import { AvpType } from './constants.js'

export interface FramingBits {
  readonly sync: boolean
  readonly async: boolean
}
export interface BearerBits {
  readonly digital: boolean
  readonly analog: boolean
}

/** Every AVP this codec knows, by field name (the Message Type AVP lives in the message itself). */
export interface Avps {
  resultCode?: ResultCode
  protocolVersion?: ProtocolVersion
  framingCapabilities?: FramingBits
  bearerCapabilities?: BearerBits
  tieBreaker?: Uint8Array
  firmwareRevision?: number
  hostName?: string
  vendorName?: string
  assignedTunnelId?: number
  receiveWindowSize?: number
  challenge?: Uint8Array
  q931CauseCode?: Q931Cause
  challengeResponse?: Uint8Array
  assignedSessionId?: number
  callSerialNumber?: number
  minimumBps?: number
  maximumBps?: number
  bearerType?: BearerBits
  framingType?: FramingBits
  calledNumber?: string
  callingNumber?: string
  subAddress?: string
  txConnectSpeed?: number
  physicalChannelId?: number
  initialReceivedLcpConfreq?: Uint8Array
  lastSentLcpConfreq?: Uint8Array
  lastReceivedLcpConfreq?: Uint8Array
  proxyAuthenType?: number
  proxyAuthenName?: Uint8Array
  proxyAuthenChallenge?: Uint8Array
  proxyAuthenId?: number
  proxyAuthenResponse?: Uint8Array
  callErrors?: CallErrors
  accm?: Accm
  privateGroupId?: Uint8Array
  rxConnectSpeed?: number
  sequencingRequired?: true
  failoverCapability?: FailoverCapability
  tunnelRecovery?: TunnelRecovery
  suggestedControlSequence?: SuggestedControlSequence
  /** Repeated AVP 79 (FSQ/FSR carry one per session). */
  failoverSessionStates?: FailoverSessionState[]
}
export type AvpField = keyof Avps

export interface AvpSpec {
  readonly type: number
  readonly field: AvpField
  /** M bit this implementation sends (RFC 2661 §4.4 column M). */
  readonly mandatory: boolean
  /** False where RFC 2661 §4.4 / RFC 4951 §5 say the AVP MUST NOT be hidden (L2-20). */
  readonly hideable: boolean
  readonly codec: ValueCodec<unknown>
  readonly repeated?: true
}

const spec = <T>(
  type: number,
  field: AvpField,
  mandatory: boolean,
  hideable: boolean,
  codec: ValueCodec<T>,
  repeated?: true,
): AvpSpec => ({
  type,
  field,
  mandatory,
  hideable,
  codec: codec as ValueCodec<unknown>,
  ...(repeated ? { repeated } : {}),
})

const framing = bits2('sync', 'async')
const bearer = bits2('digital', 'analog')

/** RFC 2661 §4.4 table (l2tpv2.md §4) and RFC 4951 §5 (rfc4951-failover.md §3.5). */
export const AVP_TABLE: readonly AvpSpec[] = [
  spec(AvpType.ResultCode, 'resultCode', true, false, resultCode),
  spec(AvpType.ProtocolVersion, 'protocolVersion', true, false, protocolVersion),
  spec(AvpType.FramingCapabilities, 'framingCapabilities', true, true, framing),
  spec(AvpType.BearerCapabilities, 'bearerCapabilities', true, true, bearer),
  spec(AvpType.TieBreaker, 'tieBreaker', false, false, bytes(8, 8)),
  spec(AvpType.FirmwareRevision, 'firmwareRevision', false, true, u16),
  spec(AvpType.HostName, 'hostName', true, false, text(1)),
  spec(AvpType.VendorName, 'vendorName', false, true, text(0)),
  spec(AvpType.AssignedTunnelId, 'assignedTunnelId', true, true, nonZeroU16),
  spec(AvpType.ReceiveWindowSize, 'receiveWindowSize', true, false, nonZeroU16),
  spec(AvpType.Challenge, 'challenge', true, true, bytes(1)),
  spec(AvpType.Q931CauseCode, 'q931CauseCode', true, false, q931),
  spec(AvpType.ChallengeResponse, 'challengeResponse', true, true, bytes(16, 16)),
  spec(AvpType.AssignedSessionId, 'assignedSessionId', true, true, nonZeroU16),
  spec(AvpType.CallSerialNumber, 'callSerialNumber', true, true, u32),
  spec(AvpType.MinimumBps, 'minimumBps', true, true, u32),
  spec(AvpType.MaximumBps, 'maximumBps', true, true, u32),
  spec(AvpType.BearerType, 'bearerType', true, true, bearer),
  spec(AvpType.FramingType, 'framingType', true, true, framing),
  spec(AvpType.CalledNumber, 'calledNumber', true, true, text(0)),
  spec(AvpType.CallingNumber, 'callingNumber', true, true, text(0)),
  spec(AvpType.SubAddress, 'subAddress', true, true, text(0)),
  spec(AvpType.TxConnectSpeed, 'txConnectSpeed', true, true, u32),
  spec(AvpType.PhysicalChannelId, 'physicalChannelId', false, true, u32),
  spec(AvpType.InitialReceivedLcpConfreq, 'initialReceivedLcpConfreq', false, true, bytes()),
  spec(AvpType.LastSentLcpConfreq, 'lastSentLcpConfreq', false, true, bytes()),
  spec(AvpType.LastReceivedLcpConfreq, 'lastReceivedLcpConfreq', false, true, bytes()),
  spec(AvpType.ProxyAuthenType, 'proxyAuthenType', false, true, u16),
  spec(AvpType.ProxyAuthenName, 'proxyAuthenName', false, true, bytes()),
  spec(AvpType.ProxyAuthenChallenge, 'proxyAuthenChallenge', false, true, bytes(1)),
  spec(AvpType.ProxyAuthenId, 'proxyAuthenId', false, true, proxyAuthenId),
  spec(AvpType.ProxyAuthenResponse, 'proxyAuthenResponse', false, true, bytes()),
  spec(AvpType.CallErrors, 'callErrors', true, true, callErrors),
  spec(AvpType.Accm, 'accm', true, true, accm),
  spec(AvpType.PrivateGroupId, 'privateGroupId', false, true, bytes()),
  spec(AvpType.RxConnectSpeed, 'rxConnectSpeed', false, true, u32),
  spec(AvpType.SequencingRequired, 'sequencingRequired', true, false, empty),
  spec(AvpType.FailoverCapability, 'failoverCapability', false, true, failoverCapability),
  spec(AvpType.TunnelRecovery, 'tunnelRecovery', true, false, tunnelRecovery),
  spec(AvpType.SuggestedControlSequence, 'suggestedControlSequence', false, true, suggestedControlSequence),
  spec(AvpType.FailoverSessionState, 'failoverSessionStates', true, true, failoverSessionState, true),
]

export const AVP_BY_TYPE: ReadonlyMap<number, AvpSpec> = new Map(AVP_TABLE.map((s) => [s.type, s]))
export const AVP_BY_FIELD: ReadonlyMap<AvpField, AvpSpec> = new Map(AVP_TABLE.map((s) => [s.field, s]))
/** Order in which we encode AVPs: by attribute type, after Message Type and Random Vector. */
export const ENCODE_ORDER: readonly AvpSpec[] = [...AVP_TABLE].sort((a, b) => a.type - b.type)
