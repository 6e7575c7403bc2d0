// Edge decoding of events: bytes -> JSON -> dispatch on (type, v) -> codec -> upcast to the
// current version. Also the encoder. Pure. Only place that knows old event versions.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import * as t from 'io-ts'
import { type ContractError, contractError, fromValidation } from './errors.js'
import {
  BinaryFault,
  Reader as ByteReader,
  compileReader,
  objectPart,
  type Part,
  Unrepresentable,
  Writer,
} from './event-binary.js'
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
  /** Takes what `codec` decoded (or accepted); `reader` ties the two together. */
  readonly upcast: (a: t.TypeOf<t.Mixed>) => L2tpEvent
}
const reader = <C extends t.Mixed>(codec: C, upcast: (a: t.TypeOf<C>) => L2tpEvent): Reader => ({
  codec,
  upcast,
})
const current = <A extends L2tpEvent, O>(codec: t.Type<A, O, unknown>): Reader =>
  reader(codec, (a: A): L2tpEvent => a)

/** (type, v) -> how to read it. A new version adds a row; old rows stay forever. */
const readers: Record<EventType, Readonly<Record<number, Reader>>> = {
  EndpointActivated: { 1: current(EndpointActivated) },
  EndpointReleased: { 1: current(EndpointReleased) },
  TunnelEstablished: { 1: current(TunnelEstablished) },
  TunnelClosed: { 1: current(TunnelClosed) },
  SessionEstablished: {
    1: reader(SessionEstablishedV1, upcastSessionEstablishedV1),
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
  if (reader.codec.is(u)) return E.right(reader.upcast(u))
  const r = reader.codec.decode(u)
  return E.isLeft(r) ? E.left(fromValidation('event', r.left)) : E.right(reader.upcast(r.right))
}

/**
 * Binary event records (docs/decisions.md, "Event encoding on l2tp.events"): byte 0 is 0x00 (a
 * JSON text never starts with it), byte 1 the format (1), byte 2 the type id below, byte 3 the
 * event's `v`, then the codec's fields in props order. Ids are forever: a new type takes a new id.
 */
export const BINARY_MAGIC = 0x00
export const BINARY_FORMAT = 1
export const eventTypeIds: Readonly<Record<EventType, number>> = {
  EndpointActivated: 1,
  EndpointReleased: 2,
  TunnelEstablished: 3,
  TunnelClosed: 4,
  SessionEstablished: 5,
  SessionClosed: 6,
  TunnelRecoveryStarted: 7,
  TunnelRecovered: 8,
  TunnelRecoveryFailed: 9,
  SessionsReconciled: 10,
  SetupRejected: 11,
  CommandApplied: 12,
}

interface BinaryRow {
  readonly type: EventType
  readonly v: number
  readonly reader: Reader
  readonly part: Part
  readonly read: (r: ByteReader) => Record<string, unknown>
}
const propsOf = (c: t.Mixed): t.Props => {
  if (c instanceof t.InterfaceType) return c.props
  throw new Error(`event codec ${c.name} is not a t.type`)
}

/** (typeId << 8 | v) -> how to read it, compiled from the same `readers` table as JSON. */
const binaryRows = new Map<number, BinaryRow>()
/** The current (newest) version of each type, for writing. */
const binaryWriters = new Map<string, BinaryRow>()
for (const [type, byVersion] of Object.entries(readers) as [EventType, Record<number, Reader>][]) {
  for (const [v, reader] of Object.entries(byVersion)) {
    const props = propsOf(reader.codec)
    const row = { type, v: Number(v), reader, part: objectPart(props), read: compileReader(props) }
    binaryRows.set((eventTypeIds[type] << 8) | row.v, row)
    const newest = binaryWriters.get(type)
    if (newest === undefined || newest.v < row.v) binaryWriters.set(type, row)
  }
}

const binaryError = (problem: string) => E.left(contractError('event', [`binary record: ${problem}`]))

/** Binary bytes -> event; every field checked by the codec's own predicates while reading. */
export const decodeBinaryEvent = (bytes: Buffer): E.Either<ContractError, L2tpEvent> => {
  if (bytes.length < 4 || bytes[0] !== BINARY_MAGIC) return binaryError('too short or no 0x00 magic byte')
  if (bytes[1] !== BINARY_FORMAT) return binaryError(`format ${bytes[1]} is not ${BINARY_FORMAT}`)
  const row = binaryRows.get(((bytes[2] as number) << 8) | (bytes[3] as number))
  if (row === undefined) return binaryError(`unknown type id ${bytes[2]} version ${bytes[3]}`)
  const r = new ByteReader(bytes, 4)
  try {
    const o = row.read(r)
    if (r.pos !== bytes.length) throw new BinaryFault(`${bytes.length - r.pos} bytes after the record`)
    return E.right(row.reader.upcast(o))
  } catch (e) {
    if (!(e instanceof BinaryFault)) throw e
    return explain(row, bytes, e.message)
  }
}

/** The slow path of a bad record: read it unchecked and let io-ts name the faulty field. */
const explain = (row: BinaryRow, bytes: Buffer, fault: string): E.Either<ContractError, L2tpEvent> => {
  try {
    const raw = row.part.read(new ByteReader(bytes, 4))
    const r = row.reader.codec.decode(raw)
    if (E.isLeft(r)) return E.left(fromValidation('event', r.left))
  } catch {
    // structurally broken: the fault found while reading says it best
  }
  return binaryError(`${row.type} v${row.v}: ${fault}`)
}

/** bytes -> event, for consumers at the edge: binary (first byte 0x00) or JSON text. */
export const parseEvent = (bytes: Buffer | string): E.Either<ContractError, L2tpEvent> => {
  if (typeof bytes !== 'string' && bytes.length > 0 && bytes[0] === BINARY_MAGIC)
    return decodeBinaryEvent(bytes)
  const json = J.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'))
  if (E.isLeft(json)) return E.left(contractError('event', [`not JSON: ${String(json.left)}`]))
  return decodeEvent(json.right)
}

/** event -> JSON text, through the exact codec (unknown fields never reach the log). */
export const encodeEvent = (e: L2tpEvent): string => {
  const codec = exactEventCodecs[e.type] as t.Type<L2tpEvent, unknown, unknown>
  return JSON.stringify(codec.encode(e))
}

/**
 * event -> binary record (what the node writes to l2tp.events). Unknown fields are left out,
 * like the exact codec does. A value binary cannot hold (never one the codec accepts) is
 * written as JSON instead, so that the registry dead-letters it with io-ts' reason.
 */
export const encodeEventBinary = (e: L2tpEvent): Buffer => {
  const row = binaryWriters.get(e.type)
  if (row === undefined || row.v !== e.v) return Buffer.from(encodeEvent(e))
  const w = new Writer()
  w.byte(BINARY_MAGIC)
  w.byte(BINARY_FORMAT)
  w.byte(eventTypeIds[row.type])
  w.byte(row.v)
  try {
    row.part.write(w, e)
  } catch (x) {
    if (x instanceof Unrepresentable) return Buffer.from(encodeEvent(e))
    throw x
  }
  return w.bytes()
}
