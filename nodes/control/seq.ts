// 16-bit sequence arithmetic for Ns/Nr (RFC 2661 §5.8, Appendix A; l2tpv2.md §8.1). Pure.

export const SEQ_MOD = 0x10000

/** (a - b) mod 65536. */
export const seqDiff = (a: number, b: number): number => (a - b + SEQ_MOD) & 0xffff

export const seqNext = (a: number): number => (a + 1) & 0xffff

/** How a received Ns stands against our Nr (l2tpv2.md §8.1). */
export type Arrival = 'expected' | 'duplicate' | 'early'

export const classify = (ns: number, nr: number): Arrival => {
  const d = seqDiff(ns, nr)
  if (d === 0) return 'expected'
  return d >= 0x8000 ? 'duplicate' : 'early'
}

/** True when a received Nr acknowledges the message numbered `ns`: (Nr - Ns) mod 2^16 in 1..32768. */
export const acknowledges = (nr: number, ns: number): boolean => {
  const d = seqDiff(nr, ns)
  return d >= 1 && d <= 0x8000
}
