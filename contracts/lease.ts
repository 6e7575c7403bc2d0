// The value of an endpoint's key in the lease bucket (LEASE_BUCKET, DESIGN.md §5): written by
// the owner node (lease.ts), read by standbys and by the registry's liveness. One codec. Pure.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import * as t from 'io-ts'

const NodeName = t.refinement(t.string, (s) => s !== '', 'NodeName')
/** A safe non-negative integer: an epoch of 1e308 could never advance. */
const LeaseEpoch = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'LeaseEpoch')
const Finite = t.refinement(t.number, Number.isFinite, 'Finite')

export const LeaseValue = t.type(
  { node: NodeName, epoch: LeaseEpoch, renewedAt: Finite, released: t.boolean },
  'LeaseValue',
)
export interface LeaseValue {
  readonly node: string
  readonly epoch: number
  readonly renewedAt: number
  readonly released: boolean
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export const encodeLease = (v: LeaseValue): Uint8Array =>
  enc.encode(JSON.stringify({ node: v.node, epoch: v.epoch, renewedAt: v.renewedAt, released: v.released }))

/**
 * The lease value, or null when it does not decode: every field present and typed (other fields
 * are ignored). A value that does not decode is NOT free: it is held by someone unknown and
 * claimable only once stale, like any other.
 */
export const decodeLease = (b: Uint8Array): LeaseValue | null => {
  const json = J.parse(dec.decode(b))
  if (E.isLeft(json)) return null
  const v = LeaseValue.decode(json.right)
  if (E.isLeft(v)) return null
  const { node, epoch, renewedAt, released } = v.right
  return { node, epoch, renewedAt, released }
}
