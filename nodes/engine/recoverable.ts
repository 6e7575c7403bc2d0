// Which tunnels of a rehydrated table can be recovered (RFC 4951 §5.1: the peer advertised C,
// and so did we), and what recovery needs of them. Pure.
import type { EndpointTable, TunnelRecord } from '../../registry/index.js'
import type { RecoverableTunnel } from './types.js'

export const recoverable = (t: TunnelRecord): boolean =>
  t.peerFailover?.control === true && t.localFailover !== null

export const toRecoverable = (t: TunnelRecord): RecoverableTunnel => ({
  localTunnelId: t.localTunnelId,
  remoteTunnelId: t.remoteTunnelId,
  peer: t.peer,
  peerHostName: t.peerHostName,
  authenticated: t.authenticated,
  peerWindow: t.peerReceiveWindow,
  peerFailover: t.peerFailover,
  peerFraming: t.peerFraming,
  peerBearer: t.peerBearer,
  releasedSessionIds: [...t.releasedSessionIds],
  sessions: [...t.sessions.values()].map((s) => ({
    localSessionId: s.localSessionId,
    remoteSessionId: s.remoteSessionId,
    callSerial: s.callSerial,
    direction: s.direction,
    sequencing: s.sequencing,
  })),
})

/** Splits a rehydrated table into tunnels to recover and tunnels whose peer cannot recover. */
export const recoveryPlan = (table: EndpointTable): { recover: RecoverableTunnel[]; close: number[] } => {
  const recover: RecoverableTunnel[] = []
  const close: number[] = []
  for (const t of table.tunnels.values()) {
    if (recoverable(t)) recover.push(toRecoverable(t))
    else close.push(t.localTunnelId)
  }
  return { recover, close }
}
