// Hidden AVPs (RFC 2661 §4.3): MD5-chained XOR of the subformat u16 length ‖ value ‖ padding.
// b1 = MD5(type ‖ secret ‖ RV); bi = MD5(secret ‖ c(i-1)). Deterministic; randomness comes in. Pure.
import { createHash } from 'node:crypto'

const md5 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}

const xorChain = (
  input: Uint8Array,
  type: number,
  secret: Uint8Array,
  rv: Uint8Array,
  encrypting: boolean,
): Uint8Array => {
  const out = new Uint8Array(input.length)
  let prevCipher: Uint8Array | null = null
  for (let i = 0; i < input.length; i += 16) {
    const b =
      prevCipher === null ? md5(Uint8Array.of(type >>> 8, type & 0xff), secret, rv) : md5(secret, prevCipher)
    const end = Math.min(i + 16, input.length)
    for (let k = i; k < end; k++) out[k] = (input[k] as number) ^ (b[k - i] as number)
    // The next block hashes the previous *ciphertext* chunk (RFC 2661 §4.3).
    prevCipher = encrypting ? out.subarray(i, end) : input.subarray(i, end)
  }
  return out
}

/** Hides `value`: subformat = u16 length ‖ value ‖ padding, then the MD5 chain. */
export const hideValue = (
  value: Uint8Array,
  type: number,
  secret: Uint8Array,
  randomVector: Uint8Array,
  padding: Uint8Array = new Uint8Array(0),
): Uint8Array => {
  const sub = new Uint8Array(2 + value.length + padding.length)
  sub[0] = value.length >>> 8
  sub[1] = value.length & 0xff
  sub.set(value, 2)
  sub.set(padding, 2 + value.length)
  return xorChain(sub, type, secret, randomVector, true)
}

/** Reveals a hidden value; null when the length prefix exceeds what was decrypted (malformed). */
export const revealValue = (
  cipher: Uint8Array,
  type: number,
  secret: Uint8Array,
  randomVector: Uint8Array,
): Uint8Array | null => {
  if (cipher.length < 2) return null
  const plain = xorChain(cipher, type, secret, randomVector, false)
  const len = ((plain[0] as number) << 8) | (plain[1] as number)
  return len > plain.length - 2 ? null : plain.subarray(2, 2 + len)
}

/** Tunnel authentication response: MD5(ID ‖ secret ‖ challenge), ID = 2 in SCCRP, 3 in SCCCN (RFC 2661 §4.4.3). */
export const challengeResponse = (id: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array =>
  md5(Uint8Array.of(id), secret, challenge)
