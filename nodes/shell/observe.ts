// What the operator sees of one configured endpoint across its lifetimes on this node: lifecycle
// log lines at info (tunnel/session up and down, recovery, refusals, commands), recovery progress
// and refusals by reason for the metrics. One field name per id: endpoint, tunnel, session, peer.
import type { L2tpEvent } from '../../contracts/index.js'
import { REFUSED } from '../engine/types.js'
import type { UdpEndpoint } from './udp-endpoint.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type Log = (level: LogLevel, msg: string, extra?: Record<string, unknown>) => void

export interface RecoveryProgress {
  /** Tunnels handed to RFC 4951 recovery at takeovers (cumulative). */
  queued: number
  recovered: number
  failed: number
}

const peerOf = (a: { readonly host: string; readonly port: number }): string => `${a.host}:${a.port}`

export class EndpointWatch {
  readonly recovery: RecoveryProgress = { queued: 0, recovered: 0, failed: 0 }
  /** Refused set-ups by `${stage}/${reason}` (reason: drain, outbox, release, shutdown, session-limit, other). */
  readonly refused = new Map<string, number>()

  constructor(
    private readonly log: Log,
    /** The endpoint serving now (its refusal reasons name a refusal). */
    private readonly current: () => UdpEndpoint | null,
    /** Whether lines at `level` are written: the per-tunnel and per-session lines are not built otherwise. */
    private readonly logs: (level: LogLevel) => boolean = () => true,
  ) {}

  private refusedBy(reason: string): string {
    if (reason === REFUSED.sessionLimit) return 'session-limit'
    if (reason === REFUSED.tunnel || reason === REFUSED.session)
      return this.current()?.refusal.primary ?? 'other'
    return 'other'
  }

  readonly onEvent = (e: L2tpEvent): void => {
    switch (e.type) {
      case 'TunnelEstablished':
      case 'TunnelClosed':
      case 'SessionEstablished':
      case 'SessionClosed':
        // One line per tunnel and session up or down: on the set-up path, so only when written.
        if (this.logs('info')) this.lifecycle(e)
        return
      default:
        return this.other(e)
    }
  }

  private lifecycle(
    e: Extract<
      L2tpEvent,
      { type: 'TunnelEstablished' | 'TunnelClosed' | 'SessionEstablished' | 'SessionClosed' }
    >,
  ): void {
    switch (e.type) {
      case 'TunnelEstablished':
        return this.log('info', 'tunnel up', {
          tunnel: e.localTunnelId,
          peer: peerOf(e.peer),
          peerHostName: e.peerHostName,
        })
      case 'TunnelClosed':
        return this.log('info', 'tunnel down', {
          tunnel: e.localTunnelId,
          resultCode: e.resultCode,
          closedBy: e.closedBy,
          message: e.message,
        })
      case 'SessionEstablished':
        return this.log('info', 'session up', { tunnel: e.localTunnelId, session: e.localSessionId })
      case 'SessionClosed':
        return this.log('info', 'session down', {
          tunnel: e.localTunnelId,
          session: e.localSessionId,
          resultCode: e.resultCode,
          closedBy: e.closedBy,
        })
    }
  }

  private other(e: L2tpEvent): void {
    switch (e.type) {
      case 'TunnelRecoveryStarted':
        return this.log('info', 'tunnel recovery started', { tunnel: e.localTunnelId })
      case 'TunnelRecovered':
        this.recovery.recovered++
        return this.log('info', 'tunnel recovered', {
          tunnel: e.localTunnelId,
          sessionsKept: e.sessionsKept,
          sessionsCleared: e.sessionsCleared,
          durationMs: e.durationMs,
        })
      case 'TunnelRecoveryFailed':
        this.recovery.failed++
        return this.log('warn', 'tunnel recovery failed', { tunnel: e.localTunnelId, reason: e.reason })
      case 'SetupRejected': {
        const key = `${e.stage}/${this.refusedBy(e.reason)}`
        this.refused.set(key, (this.refused.get(key) ?? 0) + 1)
        return this.log('info', `${e.stage} set-up refused`, {
          peer: peerOf(e.peer),
          tunnel: e.localTunnelId,
          reason: e.reason,
        })
      }
      case 'CommandApplied':
        return this.log('info', 'operator command', {
          command: e.command,
          issuer: e.issuer,
          result: e.result,
          detail: e.detail,
        })
      case 'EndpointReleased':
        return this.log('info', 'endpoint released', { epoch: e.epoch, reason: e.reason })
      default:
        return this.log('debug', e.type, { seq: e.seq })
    }
  }
}
