// Graceful stop of a served endpoint (plain mode): refuse new work, close every tunnel with
// StopCCN result 6 "requester is being shut down" (RFC 2661 §4.4.2), and wait a bounded time
// for the peers to acknowledge. Shell.
import { idle } from '../control/channel.js'
import { StopCcnResult } from '../wire/index.js'
import type { UdpEndpoint } from './udp-endpoint.js'

export interface ClosedTunnels {
  readonly closed: number
  /** Tunnels whose StopCCN was not acknowledged within the bound. */
  readonly unacknowledged: number
}

const settled = (ep: UdpEndpoint): number =>
  [...ep.engine.tunnels.values()].filter((t) => t.state !== 'closing' || !idle(t.channel)).length

export const closeTunnelsForShutdown = async (ep: UdpEndpoint, timeoutMs: number): Promise<ClosedTunnels> => {
  ep.refusal.set('shutdown', true)
  const open = [...ep.engine.tunnels.values()].filter((t) => t.state !== 'closing').map((t) => t.localId)
  for (const tunnelId of open)
    ep.input({
      _tag: 'CloseTunnel',
      tunnelId,
      resultCode: StopCcnResult.ShuttingDown,
      reason: 'node shutting down',
      closedBy: 'local',
    })
  const until = Date.now() + timeoutMs
  while (settled(ep) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
  return { closed: open.length, unacknowledged: settled(ep) }
}
