// Reading raw l2tp.events values from a byte stream framed by kcat's `-f '%R%s'` (a 32-bit
// big-endian length, -1 for a null value, then the value): one NDJSON line per record, the
// event in its JSON form (binary and JSON records alike) or the reason it does not decode. Pure.

import { describeContractError } from './errors.js'
import { encodeEvent, parseEvent } from './event-decode.js'

export interface Framed {
  /** One JSON text per complete record. */
  readonly lines: string[]
  /** Bytes of an incomplete last frame, to prepend to the next chunk. */
  readonly rest: Buffer
}

export const framesToNdjson = (buf: Buffer): Framed => {
  const lines: string[] = []
  let at = 0
  while (at + 4 <= buf.length) {
    const n = buf.readInt32BE(at)
    if (n < 0) {
      lines.push(JSON.stringify({ error: 'null value (tombstone)' }))
      at += 4
      continue
    }
    if (at + 4 + n > buf.length) break
    const value = buf.subarray(at + 4, at + 4 + n)
    const e = parseEvent(value)
    lines.push(
      e._tag === 'Right'
        ? encodeEvent(e.right)
        : JSON.stringify({ error: describeContractError(e.left), rawBase64: value.toString('base64') }),
    )
    at += 4 + n
  }
  return { lines, rest: buf.subarray(at) }
}
