// The fleet bench's synthetic history of one endpoint: standing sessions over its tunnels, short
// sessions opened and closed some 64 events later (churn), and now and then a tunnel that comes
// and goes with two sessions. Shared by bench/fleet.ts and bench/fold-profile.ts.
import type { L2tpEvent } from '../contracts/index.js'
import {
  endpointActivated,
  sessionClosed,
  sessionEstablished,
  tunnelEstablished,
} from '../test/support/history.js'

export interface FleetShape {
  readonly tunnels: number
  readonly perEndpoint: number
  /** Short sessions opened and closed per standing session. */
  readonly churn: number
}

/** One endpoint's history (`fleet-<i>`); `seq` is shared with the tail written after the snapshots. */
export function* endpointHistory(i: number, seq: { n: number }, shape: FleetShape): Generator<L2tpEvent> {
  const { tunnels: TUNNELS, perEndpoint: PER_ENDPOINT, churn: CHURN } = shape
  const endpointId = `fleet-${i}`
  const env = () => ({ endpointId, epoch: 1, seq: ++seq.n, at: 1_700_000_000_000 + seq.n, nodeId: 'node-1' })
  yield endpointActivated(env())
  for (let t = 1; t <= TUNNELS; t++) yield tunnelEstablished(env(), t, t)
  const open: Array<[number, number]> = []
  let churned = 0
  let extraTunnel = TUNNELS
  for (let k = 0; k < PER_ENDPOINT; k++) {
    const tunnel = (k % TUNNELS) + 1
    yield sessionEstablished(env(), tunnel, Math.floor(k / TUNNELS) + 1, k + 1)
    // Short sessions: opened now, closed some 64 events later (ids above the standing ones).
    while (churned < (k + 1) * CHURN) {
      const t = ((churned * 7) % TUNNELS) + 1
      const sid = 1000 + (churned % 60_000)
      if (!open.some(([ot, os]) => ot === t && os === sid)) {
        yield sessionEstablished(env(), t, sid, 1_000_000 + churned)
        open.push([t, sid])
      }
      churned++
      if (open.length > 64) {
        const [ct, cs] = open.shift() as [number, number]
        yield sessionClosed(env(), ct, cs)
      }
    }
    // Now and then a tunnel that comes and goes with a couple of sessions.
    if (k % 1000 === 999 && extraTunnel < 65_000) {
      const t = ++extraTunnel
      yield tunnelEstablished(env(), t, t)
      yield sessionEstablished(env(), t, 1, 2_000_000 + k)
      yield sessionEstablished(env(), t, 2, 3_000_000 + k)
      yield {
        type: 'TunnelClosed',
        v: 1,
        ...env(),
        localTunnelId: t,
        resultCode: 1,
        errorCode: null,
        message: null,
        closedBy: 'peer',
      } as L2tpEvent
    }
  }
  for (const [ct, cs] of open) yield sessionClosed(env(), ct, cs)
}
