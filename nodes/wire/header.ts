// L2TP header (RFC 2661 §3.1): flags/version word, optional Length, Tunnel and Session ID,
// optional Ns/Nr and Offset. Decoded with bounds checks; never throws. Pure.
import {
  CONTROL_HEADER_LEN,
  CONTROL_WORD,
  FLAG_L,
  FLAG_O,
  FLAG_P,
  FLAG_S,
  FLAG_T,
  L2F_VERSION,
  L2TP_VERSION,
  VERSION_MASK,
} from './constants.js'
import type { WireError } from './errors.js'

export interface Header {
  readonly control: boolean
  readonly tunnelId: number
  readonly sessionId: number
  /** Present when S=1 (always on control messages). */
  readonly ns: number | null
  readonly nr: number | null
  /** Data only: P bit (RFC 2661 §3.1). */
  readonly priority: boolean
  /** Offset of the payload (first AVP, or PPP frame) in the datagram. */
  readonly bodyOffset: number
  /** End of the L2TP message (Length when present, else the datagram end). */
  readonly end: number
}

export type HeaderResult =
  | { readonly ok: true; readonly header: Header }
  | { readonly ok: false; readonly error: WireError }

const fail = (offset: number, reason: string): HeaderResult => ({
  ok: false,
  error: { _tag: 'MalformedHeader', offset, reason },
})

export const decodeHeader = (d: Uint8Array): HeaderResult => {
  if (d.length < 6) return fail(0, `datagram of ${d.length} octets is shorter than any header`)
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength)
  const word = v.getUint16(0)
  const version = word & VERSION_MASK
  if (version === L2F_VERSION) return { ok: false, error: { _tag: 'L2F' } }
  if (version !== L2TP_VERSION) return { ok: false, error: { _tag: 'BadVersion', version } }
  const control = (word & FLAG_T) !== 0
  const hasL = (word & FLAG_L) !== 0
  const hasS = (word & FLAG_S) !== 0
  const hasO = (word & FLAG_O) !== 0
  // Control messages MUST have L=1, S=1, O=0, P=0 (RFC 2661 §3.1).
  if (control && (!hasL || !hasS || hasO)) return fail(0, 'control message without L and S, or with O')
  let at = 2
  let end = d.length
  if (hasL) {
    const length = v.getUint16(at)
    at += 2
    if (length > d.length) return fail(2, `Length ${length} exceeds the datagram (${d.length})`)
    end = length
  }
  if (at + 4 > end) return fail(at, 'header truncated before Tunnel/Session ID')
  const tunnelId = v.getUint16(at)
  const sessionId = v.getUint16(at + 2)
  at += 4
  let ns: number | null = null
  let nr: number | null = null
  if (hasS) {
    if (at + 4 > end) return fail(at, 'header truncated before Ns/Nr')
    ns = v.getUint16(at)
    nr = v.getUint16(at + 2)
    at += 4
  }
  if (hasO) {
    if (at + 2 > end) return fail(at, 'header truncated before Offset Size')
    const pad = v.getUint16(at)
    at += 2 + pad
    if (at > end) return fail(at, `Offset Size ${pad} runs past the message`)
  }
  if (control && at !== CONTROL_HEADER_LEN) return fail(0, 'control header is not 12 octets')
  if (control && end < CONTROL_HEADER_LEN) return fail(2, `Length ${end} shorter than the control header`)
  return {
    ok: true,
    header: {
      control,
      tunnelId,
      sessionId,
      ns,
      nr,
      priority: !control && (word & FLAG_P) !== 0,
      bodyOffset: at,
      end,
    },
  }
}

/** Writes a 12-octet control header: 0xC802, Length, Tunnel ID, Session ID, Ns, Nr (L2-01, L2-04). */
export const writeControlHeader = (
  out: Uint8Array,
  length: number,
  tunnelId: number,
  sessionId: number,
  ns: number,
  nr: number,
): void => {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength)
  v.setUint16(0, CONTROL_WORD)
  v.setUint16(2, length)
  v.setUint16(4, tunnelId)
  v.setUint16(6, sessionId)
  v.setUint16(8, ns & 0xffff)
  v.setUint16(10, nr & 0xffff)
}

export interface DataHeaderFields {
  readonly tunnelId: number
  readonly sessionId: number
  /** Sequence numbers on this data message (S=1), or null (RFC 2661 §5.4). */
  readonly ns: number | null
  readonly priority: boolean
}

/** Encodes a data message: header (with Length, optional Ns/Nr) followed by the PPP frame. */
export const encodeData = (h: DataHeaderFields, payload: Uint8Array): Uint8Array => {
  const headerLen = 8 + (h.ns === null ? 0 : 4)
  const out = new Uint8Array(headerLen + payload.length)
  const v = new DataView(out.buffer)
  v.setUint16(0, FLAG_L | (h.ns === null ? 0 : FLAG_S) | (h.priority ? FLAG_P : 0) | L2TP_VERSION)
  v.setUint16(2, out.length)
  v.setUint16(4, h.tunnelId)
  v.setUint16(6, h.sessionId)
  if (h.ns !== null) {
    v.setUint16(8, h.ns & 0xffff)
    v.setUint16(10, 0) // Nr is reserved on data messages (RFC 2661 §3.1)
  }
  out.set(payload, headerLen)
  return out
}
