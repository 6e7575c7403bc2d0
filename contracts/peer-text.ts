// Text fields of events that a peer (or a long local reason) fills: bounded at the AVP maximum
// (RFC 2661 §4.1: 1023 octets less the 6-octet header) in UTF-8, so that no event grows past a
// known size. A cut value ends with a marker saying how many bytes were cut. Pure.
import type { EventType } from './events.js'

/** Most UTF-8 bytes of one text field of an event: an AVP value's maximum (1017). */
export const EVENT_TEXT_MAX_BYTES = 1023 - 6

/** The fields bounded, by event type (peer host and vendor names, numbers, messages, reasons). */
export const EVENT_TEXT_FIELDS: Partial<Record<EventType, readonly string[]>> = {
  TunnelEstablished: ['peerHostName', 'peerVendorName', 'localHostName'],
  TunnelClosed: ['message'],
  SessionEstablished: ['callingNumber', 'calledNumber'],
  SessionClosed: ['message'],
  SetupRejected: ['reason'],
  TunnelRecoveryFailed: ['reason'],
  CommandApplied: ['detail'],
  EndpointReleased: ['reason'],
}

const enc = new TextEncoder()

/** The marker that ends a cut value. */
export const truncatedMarker = (cutBytes: number): string => ` …[truncated ${cutBytes} bytes]`

/**
 * `s` when it fits `max` UTF-8 bytes; else its longest prefix (whole code points) that fits
 * with the marker, then the marker. Never longer than `max` bytes.
 */
export const boundText = (s: string, max = EVENT_TEXT_MAX_BYTES): { text: string; truncated: boolean } => {
  if (s.length * 3 <= max) return { text: s, truncated: false }
  const total = enc.encode(s).byteLength
  if (total <= max) return { text: s, truncated: false }
  // The marker's own length depends on the count it names: room for the longest it can be.
  const room = max - enc.encode(truncatedMarker(total)).byteLength
  let bytes = 0
  let end = 0
  for (const ch of s) {
    const b = enc.encode(ch).byteLength
    if (bytes + b > room) break
    bytes += b
    end += ch.length
  }
  return { text: s.slice(0, end) + truncatedMarker(total - bytes), truncated: true }
}
