// Operator commands as pure decisions (STYLE.md §2, the emmett/fmodel decider): one function per
// command takes the command and the engine's state and returns the inputs to feed the engine, or
// a Rejection as a value. The shell (nodes/shell/commands.ts) only decodes, decides, feeds, replies.
// Pure.
import * as E from 'fp-ts/lib/Either.js'
import { CdnResult, StopCcnResult } from '../wire/index.js'
import type { Engine, Input, RefusalReason, Tunnel } from './types.js'

/** Why a command is refused: the shell answers it as an error reply with this code. */
export interface Rejection {
  readonly code: 'NotFound' | 'Conflict'
  readonly message: string
}

/** StopCCN / CDN result codes of an operator's close (RFC 2661 §4.4.2: 1 General request to clear). */
export const OPERATOR_STOP = StopCcnResult.GeneralClear
/** CDN result 3: call disconnected for administrative reasons (RFC 2661 §4.4.2). */
export const OPERATOR_CDN = CdnResult.Administrative

export type OperatorCommand =
  | {
      readonly _tag: 'CloseTunnel'
      readonly localTunnelId: number
      readonly reason: string | null
      readonly issuer: string
    }
  | {
      readonly _tag: 'CloseSession'
      readonly localTunnelId: number
      readonly localSessionId: number
      readonly reason: string | null
      readonly issuer: string
    }
  /** RFC 4951 §5.9 Step II on demand: FSQ on one tunnel (or every one, null). */
  | { readonly _tag: 'SyncSessions'; readonly localTunnelId: number | null }
  | { readonly _tag: 'Drain' }
  | { readonly _tag: 'Undrain' }

export type Decision = E.Either<Rejection, readonly Input[]>

const reject = (code: Rejection['code'], message: string): Decision => E.left({ code, message })

/** A tunnel an operator may close: open (not lingering) and not a recovery tunnel (RFC 4951 §5.3). */
export const closable = (t: Tunnel): boolean => t.state !== 'closing' && t.recoveryOf === null

/**
 * A tunnel whose sessions may be queried (RFC 4951 §5.9): established, neither awaiting its
 * control channel reset nor a recovery tunnel. The engine's QuerySessions applies the same rule.
 */
export const queryable = (t: Tunnel): boolean =>
  t.state === 'established' && !t.recovering && t.recoveryOf === null

/** FSQ/FSR only with a peer that advertised Failover Capability, i.e. speaks RFC 4951 (FO-53). */
export const syncCapable = (t: Tunnel): boolean => t.peerFailover !== null

export const decideCloseTunnel = (
  c: Extract<OperatorCommand, { _tag: 'CloseTunnel' }>,
  e: Engine,
): Decision => {
  const t = e.tunnels.get(c.localTunnelId)
  if (t === undefined || !closable(t)) return reject('NotFound', `no open tunnel ${c.localTunnelId}`)
  const reason = c.reason ?? `closed by ${c.issuer}`
  return E.right([{ _tag: 'CloseTunnel', tunnelId: t.localId, resultCode: OPERATOR_STOP, reason }])
}

export const decideCloseSession = (
  c: Extract<OperatorCommand, { _tag: 'CloseSession' }>,
  e: Engine,
): Decision => {
  const s = e.tunnels.get(c.localTunnelId)?.sessions.get(c.localSessionId)
  if (s === undefined)
    return reject('NotFound', `no session ${c.localSessionId} on tunnel ${c.localTunnelId}`)
  const reason = c.reason ?? `closed by ${c.issuer}`
  return E.right([
    {
      _tag: 'CloseSession',
      tunnelId: c.localTunnelId,
      sessionId: s.localId,
      resultCode: OPERATOR_CDN,
      reason,
    },
  ])
}

/** The tunnels a sync names that can be queried, split by whether their peer speaks RFC 4951. */
export const syncTargets = (
  e: Engine,
  localTunnelId: number | null,
): { readonly capable: readonly Tunnel[]; readonly legacy: readonly Tunnel[] } => {
  const named = localTunnelId === null ? [...e.tunnels.values()] : [e.tunnels.get(localTunnelId)]
  const open = named.filter((t): t is Tunnel => t !== undefined && queryable(t))
  return { capable: open.filter(syncCapable), legacy: open.filter((t) => !syncCapable(t)) }
}

export const decideSync = (c: Extract<OperatorCommand, { _tag: 'SyncSessions' }>, e: Engine): Decision => {
  const { capable, legacy } = syncTargets(e, c.localTunnelId)
  if (c.localTunnelId !== null && capable.length + legacy.length === 0)
    return reject('NotFound', `no established tunnel ${c.localTunnelId}`)
  // FSQ only toward peers that speak RFC 4951 (a legacy peer may clear the tunnel on it).
  if (c.localTunnelId !== null && capable.length === 0)
    return reject('Conflict', `the peer of tunnel ${c.localTunnelId} did not advertise RFC 4951 failover`)
  return E.right(capable.map((t) => ({ _tag: 'QuerySessions', tunnelId: t.localId })))
}

const refuse = (reason: RefusalReason, on: boolean): Decision =>
  E.right([{ _tag: 'SetRefuseNew', reason, on }])

/** Refuses new tunnels and sessions for the operator's reason; other reasons are untouched. */
export const decideDrain = (): Decision => refuse('drain', true)

/** Lifts the operator's drain only: outbox pressure, a release or a shutdown still refuse. */
export const decideUndrain = (): Decision => refuse('drain', false)

export const decide = (c: OperatorCommand, e: Engine): Decision => {
  switch (c._tag) {
    case 'CloseTunnel':
      return decideCloseTunnel(c, e)
    case 'CloseSession':
      return decideCloseSession(c, e)
    case 'SyncSessions':
      return decideSync(c, e)
    case 'Drain':
      return decideDrain()
    case 'Undrain':
      return decideUndrain()
  }
}
