// Edge decoding of events: bytes -> JSON -> dispatch on (type, v) -> codec -> upcast to the
// current version. Also the encoder. Pure. Only place that knows old event versions.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import * as t from 'io-ts'
import { type ContractError, contractError, fromValidation } from './errors.js'
import {
  CommandApplied,
  EndpointActivated,
  EndpointReleased,
  type EventType,
  envelope,
  exactEventCodecs,
  type L2tpEvent,
  SessionClosed,
  SessionEstablished,
  SessionsReconciled,
  SetupRejected,
  TunnelClosed,
  TunnelEstablished,
  TunnelRecovered,
  TunnelRecoveryFailed,
  TunnelRecoveryStarted,
} from './events.js'
import { SessionId, TunnelId } from './ids.js'
import { Bearer, CallDirection, Framing, nullable, U32 } from './parts.js'

/** SessionEstablished v1: one `connectSpeed` (AVP 24), no RX speed, no physical channel id. */
export const SessionEstablishedV1 = t.type(
  {
    type: t.literal('SessionEstablished'),
    v: t.literal(1),
    ...envelope,
    localTunnelId: TunnelId,
    localSessionId: SessionId,
    remoteSessionId: SessionId,
    callSerial: U32,
    direction: CallDirection,
    framing: Framing,
    bearer: nullable(Bearer),
    connectSpeed: U32,
    callingNumber: nullable(t.string),
    calledNumber: nullable(t.string),
    sequencing: t.boolean,
  },
  'SessionEstablishedV1',
)
export type SessionEstablishedV1 = t.TypeOf<typeof SessionEstablishedV1>

/** Upcast v1 -> v2: the single speed was the transmit speed; RX speed and channel unknown. */
export const upcastSessionEstablishedV1 = (e: SessionEstablishedV1): t.TypeOf<typeof SessionEstablished> => {
  const { connectSpeed, ...rest } = e
  return { ...rest, v: 2, txConnectSpeed: connectSpeed, rxConnectSpeed: null, physicalChannelId: null }
}

interface Reader {
  readonly codec: t.Mixed
  readonly upcast: (a: never) => L2tpEvent
}
const current = (codec: t.Mixed): Reader => ({ codec, upcast: (a: never) => a })

/** (type, v) -> how to read it. A new version adds a row; old rows stay forever. */
const readers: Record<EventType, Readonly<Record<number, Reader>>> = {
  EndpointActivated: { 1: current(EndpointActivated) },
  EndpointReleased: { 1: current(EndpointReleased) },
  TunnelEstablished: { 1: current(TunnelEstablished) },
  TunnelClosed: { 1: current(TunnelClosed) },
  SessionEstablished: {
    1: { codec: SessionEstablishedV1, upcast: upcastSessionEstablishedV1 as (a: never) => L2tpEvent },
    2: current(SessionEstablished),
  },
  SessionClosed: { 1: current(SessionClosed) },
  TunnelRecoveryStarted: { 1: current(TunnelRecoveryStarted) },
  TunnelRecovered: { 1: current(TunnelRecovered) },
  TunnelRecoveryFailed: { 1: current(TunnelRecoveryFailed) },
  SessionsReconciled: { 1: current(SessionsReconciled) },
  SetupRejected: { 1: current(SetupRejected) },
  CommandApplied: { 1: current(CommandApplied) },
}

const hasOwn = Object.prototype.hasOwnProperty

/**
 * Decodes one JSON value into the current version of an event. The fast path is the codec's
 * type guard (no allocation); only a failing value runs `decode`, to report the path of the fault.
 */
export const decodeEvent = (u: unknown): E.Either<ContractError, L2tpEvent> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) {
    return E.left(contractError('event', ['at .: expected an object']))
  }
  const { type, v } = u as { type?: unknown; v?: unknown }
  if (typeof type !== 'string' || !hasOwn.call(readers, type)) {
    return E.left(
      contractError('event', [`at .type: unknown event type ${JSON.stringify(type) ?? 'nothing'}`]),
    )
  }
  const byVersion = readers[type as EventType]
  const reader = typeof v === 'number' ? byVersion[v] : undefined
  if (reader === undefined) {
    const known = Object.keys(byVersion).join(', ')
    return E.left(
      contractError('event', [`at .v: ${type} has versions ${known}, got ${JSON.stringify(v) ?? 'nothing'}`]),
    )
  }
  if (reader.codec.is(u)) return E.right(reader.upcast(u as never))
  const r = reader.codec.decode(u)
  return E.isLeft(r) ? E.left(fromValidation('event', r.left)) : E.right(reader.upcast(r.right as never))
}

/** bytes -> event, for consumers at the edge. */
export const parseEvent = (bytes: Buffer | string): E.Either<ContractError, L2tpEvent> => {
  const json = J.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'))
  if (E.isLeft(json)) return E.left(contractError('event', [`not JSON: ${String(json.left)}`]))
  return decodeEvent(json.right)
}

/** event -> JSON text, through the exact codec (unknown fields never reach the log). */
export const encodeEvent = (e: L2tpEvent): string => {
  const codec = exactEventCodecs[e.type] as t.Type<L2tpEvent, unknown, unknown>
  return JSON.stringify(codec.encode(e))
}
