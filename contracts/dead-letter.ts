// A record of l2tp.events that could not be decoded, kept on l2tp.events.dead with where it
// came from, its raw bytes and the reason (DESIGN.md §3: nothing is dropped silently). Pure.
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
