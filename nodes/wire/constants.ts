// L2TPv2 numbers: message types (RFC 2661 §3.2, RFC 4951 §7), AVP types (RFC 2661 §4.4,
// RFC 4951 §5), result and error codes (RFC 2661 §4.4.2). Pure data.

/** Header flag masks on the first 16-bit word (RFC 2661 §3.1). */
export const FLAG_T = 0x8000
export const FLAG_L = 0x4000
export const FLAG_S = 0x0800
export const FLAG_O = 0x0200
export const FLAG_P = 0x0100
/** Reserved header bits: sent as 0, ignored on receipt (RFC 2661 §3.1, L2-02). */
export const HEADER_RESERVED = 0x34f0
export const VERSION_MASK = 0x000f
/** L2TPv2 header version; 1 is L2F (RFC 2661 §3.1). */
export const L2TP_VERSION = 2
export const L2F_VERSION = 1
/** Every control message starts with this word: T, L, S set, Ver 2 (L2-01). */
export const CONTROL_WORD = 0xc802
/** The control header is always 12 octets (RFC 2661 §3.1). */
export const CONTROL_HEADER_LEN = 12

/** AVP header flag masks (RFC 2661 §4.1). */
export const AVP_M = 0x8000
export const AVP_H = 0x4000
export const AVP_RESERVED = 0x3c00
export const AVP_LENGTH_MASK = 0x03ff
export const AVP_HEADER_LEN = 6
export const AVP_MAX_LEN = 1023

/** Registered UDP port (RFC 2661 §8.1). */
export const L2TP_PORT = 1701

/** Message Type AVP values (RFC 2661 §3.2; FSQ/FSR RFC 4951 §7). */
export const MessageType = {
  SCCRQ: 1,
  SCCRP: 2,
  SCCCN: 3,
  StopCCN: 4,
  HELLO: 6,
  OCRQ: 7,
  OCRP: 8,
  OCCN: 9,
  ICRQ: 10,
  ICRP: 11,
  ICCN: 12,
  CDN: 14,
  WEN: 15,
  SLI: 16,
  FSQ: 21,
  FSR: 22,
} as const
export type MessageTypeName = keyof typeof MessageType
export type MessageTypeNumber = (typeof MessageType)[MessageTypeName]

const MESSAGE_NAMES: ReadonlyMap<number, MessageTypeName> = new Map(
  Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]),
)

export const messageTypeName = (n: number): MessageTypeName | null => MESSAGE_NAMES.get(n) ?? null

/** Tunnel-scoped message types: an unknown M=1 AVP in them ends the tunnel (RFC 2661 §4.2). */
export const TUNNEL_MESSAGES: ReadonlySet<number> = new Set([1, 2, 3, 4, 6, 21, 22])

/** Attribute types, vendor 0 (RFC 2661 §4.4; 76-79 RFC 4951 §5). */
export const AvpType = {
  MessageType: 0,
  ResultCode: 1,
  ProtocolVersion: 2,
  FramingCapabilities: 3,
  BearerCapabilities: 4,
  TieBreaker: 5,
  FirmwareRevision: 6,
  HostName: 7,
  VendorName: 8,
  AssignedTunnelId: 9,
  ReceiveWindowSize: 10,
  Challenge: 11,
  Q931CauseCode: 12,
  ChallengeResponse: 13,
  AssignedSessionId: 14,
  CallSerialNumber: 15,
  MinimumBps: 16,
  MaximumBps: 17,
  BearerType: 18,
  FramingType: 19,
  CalledNumber: 21,
  CallingNumber: 22,
  SubAddress: 23,
  TxConnectSpeed: 24,
  PhysicalChannelId: 25,
  InitialReceivedLcpConfreq: 26,
  LastSentLcpConfreq: 27,
  LastReceivedLcpConfreq: 28,
  ProxyAuthenType: 29,
  ProxyAuthenName: 30,
  ProxyAuthenChallenge: 31,
  ProxyAuthenId: 32,
  ProxyAuthenResponse: 33,
  CallErrors: 34,
  Accm: 35,
  RandomVector: 36,
  PrivateGroupId: 37,
  RxConnectSpeed: 38,
  SequencingRequired: 39,
  FailoverCapability: 76,
  TunnelRecovery: 77,
  SuggestedControlSequence: 78,
  FailoverSessionState: 79,
} as const
export type AvpName = keyof typeof AvpType

/** StopCCN Result Codes (RFC 2661 §4.4.2). */
export const StopCcnResult = {
  GeneralClear: 1,
  GeneralError: 2,
  AlreadyExists: 3,
  NotAuthorized: 4,
  BadProtocolVersion: 5,
  ShuttingDown: 6,
  FsmError: 7,
} as const

/** CDN Result Codes (RFC 2661 §4.4.2). */
export const CdnResult = {
  LossOfCarrier: 1,
  ErrorCode: 2,
  Administrative: 3,
  NoFacilitiesTemporary: 4,
  NoFacilitiesPermanent: 5,
  InvalidDestination: 6,
  NoCarrier: 7,
  Busy: 8,
  NoDialTone: 9,
  Timeout: 10,
  NoFraming: 11,
} as const

/** General Error Codes, used with Result Code 2 (RFC 2661 §4.4.2). */
export const ErrorCode = {
  None: 0,
  NoControlConnection: 1,
  BadLength: 2,
  OutOfRange: 3,
  NoResources: 4,
  InvalidSessionId: 5,
  VendorSpecific: 6,
  TryAnother: 7,
  UnknownMandatoryAvp: 8,
} as const
