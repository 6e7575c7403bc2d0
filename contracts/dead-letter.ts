// A record of l2tp.events that could not be decoded, kept on l2tp.events.dead with where it
// came from, its raw bytes and the reason (DESIGN.md §3: nothing is dropped silently). v1: the
// registry's (a record that did not decode); v2 adds the origin, and a node's letter (an event
// too large for the event log) has no offset. Pure.
import * as t from 'io-ts'
import { Millis, Offset } from './ids.js'
import { Count, nullable } from './parts.js'

export const DeadLetter = t.type({
  type: t.literal('DeadLetter'),
  v: t.literal(1),
  topic: t.string,
  partition: Count,
  offset: Offset,
  key: nullable(t.string),
  /** The original value, base64 (it may not be text). */
  rawBase64: nullable(t.string),
  reason: t.string,
  at: Millis,
})
export type DeadLetter = t.TypeOf<typeof DeadLetter>

/** v2: `origin` says who wrote it; a node's letter did not come from l2tp.events (no offset). */
export const DeadLetterV2 = t.type({
  type: t.literal('DeadLetter'),
  v: t.literal(2),
  origin: t.keyof({ registry: null, node: null }),
  topic: t.string,
  partition: nullable(Count),
  offset: nullable(Offset),
  key: nullable(t.string),
  /** The original value, base64; null when it is itself too large to keep (see reason). */
  rawBase64: nullable(t.string),
  reason: t.string,
  at: Millis,
})
export type DeadLetterV2 = t.TypeOf<typeof DeadLetterV2>

export const AnyDeadLetter = t.union([DeadLetter, DeadLetterV2])
export type AnyDeadLetter = t.TypeOf<typeof AnyDeadLetter>
