// Branded ids with their ranges (RFC 2661 §3.1: Tunnel ID and Session ID are 16-bit, 0 is
// reserved for "not yet assigned", so a live id is 1..65535). Pure.
import * as t from 'io-ts'

export interface TunnelIdBrand {
  readonly TunnelId: unique symbol
}
/** Local or remote L2TP Tunnel ID of an established tunnel: 1..65535 (RFC 2661 §3.1, §4.4.3). */
export const TunnelId = t.brand(
  t.Int,
  (n): n is t.Branded<t.Int, TunnelIdBrand> => n >= 1 && n <= 65535,
  'TunnelId',
)
export type TunnelId = t.TypeOf<typeof TunnelId>

export interface SessionIdBrand {
  readonly SessionId: unique symbol
}
/** Local or remote L2TP Session ID of an established session: 1..65535 (RFC 2661 §3.1, §4.4.4). */
export const SessionId = t.brand(
  t.Int,
  (n): n is t.Branded<t.Int, SessionIdBrand> => n >= 1 && n <= 65535,
  'SessionId',
)
export type SessionId = t.TypeOf<typeof SessionId>

/** Names that travel as NATS subject tokens and Kafka keys: no dots, wildcards or spaces. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export interface EndpointIdBrand {
  readonly EndpointId: unique symbol
}
export const EndpointId = t.brand(
  t.string,
  (s): s is t.Branded<string, EndpointIdBrand> => NAME.test(s),
  'EndpointId',
)
export type EndpointId = t.TypeOf<typeof EndpointId>

export interface NodeIdBrand {
  readonly NodeId: unique symbol
}
export const NodeId = t.brand(t.string, (s): s is t.Branded<string, NodeIdBrand> => NAME.test(s), 'NodeId')
export type NodeId = t.TypeOf<typeof NodeId>

export interface EpochBrand {
  readonly Epoch: unique symbol
}
/** Owner generation of an endpoint (DESIGN.md §1); 0 before any owner. */
export const Epoch = t.brand(t.Int, (n): n is t.Branded<t.Int, EpochBrand> => n >= 0, 'Epoch')
export type Epoch = t.TypeOf<typeof Epoch>

export interface SeqBrand {
  readonly Seq: unique symbol
}
/** Event sequence within one endpoint epoch, starting at 1. */
export const Seq = t.brand(t.Int, (n): n is t.Branded<t.Int, SeqBrand> => n >= 1, 'Seq')
export type Seq = t.TypeOf<typeof Seq>

export interface MillisBrand {
  readonly Millis: unique symbol
}
/** Wall-clock milliseconds since the Unix epoch (for people; order never comes from it). */
export const Millis = t.brand(t.Int, (n): n is t.Branded<t.Int, MillisBrand> => n >= 0, 'Millis')
export type Millis = t.TypeOf<typeof Millis>

export interface OffsetBrand {
  readonly Offset: unique symbol
}
/** A Kafka offset, kept as a decimal string (64-bit; never turned into a number). */
export const Offset = t.brand(
  t.string,
  (s): s is t.Branded<string, OffsetBrand> => /^(0|[1-9][0-9]{0,18})$/.test(s),
  'Offset',
)
export type Offset = t.TypeOf<typeof Offset>

/** UDP port 1..65535 (RFC 2661 §8.1: 1701 by default). */
export interface PortBrand {
  readonly Port: unique symbol
}
export const Port = t.brand(t.Int, (n): n is t.Branded<t.Int, PortBrand> => n >= 1 && n <= 65535, 'Port')
export type Port = t.TypeOf<typeof Port>

/** An IP address and UDP port. The host is kept as text; the shell validates it as IPv4/IPv6. */
export const Address = t.type({ host: t.string, port: Port }, 'Address')
export type Address = t.TypeOf<typeof Address>

/**
 * Unsafe constructors for code that already checked a value (tests, the wire decoder after its
 * own range check). Keep them out of paths that handle external input.
 */
export const unsafe = {
  tunnelId: (n: number) => n as TunnelId,
  sessionId: (n: number) => n as SessionId,
  endpointId: (s: string) => s as EndpointId,
  nodeId: (s: string) => s as NodeId,
  epoch: (n: number) => n as Epoch,
  seq: (n: number) => n as Seq,
  millis: (n: number) => n as Millis,
  offset: (s: string) => s as Offset,
  port: (n: number) => n as Port,
  int: (n: number) => n as t.Int,
} as const
