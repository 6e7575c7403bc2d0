// Liveness of an endpoint's owner as the registry sees it (issue 9): from the lease bucket
// (revision unchanged for the detection time on the registry's own clock, or released) and from
// EndpointReleased events. Pure.
import * as t from 'io-ts'
import { Millis } from './ids.js'
import { nullable } from './parts.js'

/**
 * ok: the lease is renewed; gone: the lease was not renewed for the detection time; released:
 * the owner released the endpoint (lease flag or EndpointReleased); no-lease: no lease key (a
 * plain node, not under a lease); unknown: not looked at yet, or the bucket is unreachable.
 */
export const LivenessState = t.keyof(
  { ok: null, gone: null, released: null, 'no-lease': null, unknown: null },
  'LivenessState',
)
export type LivenessState = t.TypeOf<typeof LivenessState>

export const Liveness = t.type(
  {
    state: LivenessState,
    /** gone: the last renewal seen (registry clock); released: when it was released. */
    since: nullable(Millis),
    /** Who holds the lease key and at which epoch (null without a readable lease). */
    leaseNode: nullable(t.string),
    leaseEpoch: nullable(t.number),
  },
  'Liveness',
)
export type Liveness = t.TypeOf<typeof Liveness>

/** The STATE column of `l2tpctl endpoints`. */
export const livenessText = (l: Liveness): string => {
  const at = (ms: number | null) => (ms === null ? '?' : new Date(ms).toISOString())
  switch (l.state) {
    case 'ok':
      return 'ok'
    case 'gone':
      return `owner gone since ${at(l.since)}`
    case 'released':
      return `released at ${at(l.since)}`
    case 'no-lease':
      return 'no lease'
    case 'unknown':
      return 'liveness unknown'
  }
}
