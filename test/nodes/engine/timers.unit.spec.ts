// Given-when-then: the timers of each kind of tunnel, on the fake clock. A normal tunnel
// (HELLO, retransmission, linger), a recovery tunnel (RFC 4951 §5.3.7) and an old tunnel whose
// failed peer may still recover it (RFC 4951 §5.2).
import { describe, expect, it } from 'vitest'
import {
  datagram,
  effect,
  emits,
  emitsNothing,
  given,
  MT,
  onlySession,
  onlyTunnel,
  peerCalls,
  peerOpensTunnel,
  sccrqAvps,
  sends,
  state,
} from '../../support/engine-spec.js'
import { FO, oldTunnel } from './tp.js'

const LNS = { role: 'LNS' } as const
const emitted = (type: string) => (o: { events: readonly { type: string }[] }) =>
  o.events.some((e) => e.type === type)

describe('a normal tunnel', () => {
  it('L2-50: an idle established tunnel sends a HELLO after the hello interval (RFC 2661 §6.5)', () => {
    given(LNS, ...peerOpensTunnel())
      .whenTimersUntil((o) => o.sent.some((m) => m.type === MT.HELLO))
      .then(sends(MT.HELLO), (o) => expect(o.now).toBeGreaterThanOrEqual(60_000))
  })

  it('L2-42: a half-open tunnel whose SCCRP is never acknowledged is rejected once retransmissions run out', () => {
    const s = given(
      LNS,
      datagram({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, type: MT.SCCRQ, avps: sccrqAvps(7) }),
    )
    const tid = onlyTunnel(s.engine)
    s.whenTimersUntil(emitted('SetupRejected')).then(
      emits('SetupRejected', { stage: 'tunnel', localTunnelId: tid }),
      effect('TunnelDown', { tunnelId: tid }),
      // L2-41, L2-42: five retransmissions, backoff 1, 2, 4, 8, 8 s, then 8 s more.
      (o) => expect(o.now).toBe(31_000),
    )
  })

  it('L2-48: a closed tunnel lingers (re-acking) for the linger time, then its timer is disarmed', () => {
    const s = given(LNS, ...peerOpensTunnel())
    const tid = onlyTunnel(s.engine)
    s.and(
      datagram({
        tunnelId: tid,
        sessionId: 0,
        ns: 2,
        nr: 1,
        type: MT.StopCCN,
        avps: { assignedTunnelId: 0x0909, resultCode: { result: 1, error: null, message: null } },
      }),
    )
      .whenTimersUntil((o) => !o.engine.tunnels.has(tid))
      .then(effect('Disarm', { tunnelId: tid }), (o) => expect(o.now).toBeGreaterThanOrEqual(31_000))
  })
})

describe('a recovery tunnel (recovery-endpoint role)', () => {
  it('FO-27: the peer never answers the recovery SCCRQ: the old tunnel and its sessions are cleared silently', () => {
    given({ ...LNS, failover: FO }, { _tag: 'Recover', tunnel: oldTunnel() })
      .whenTimersUntil(emitted('TunnelRecoveryFailed'))
      .then(
        emits('TunnelRecoveryFailed', { localTunnelId: 0x0707 }),
        effect('TunnelDown', { tunnelId: 0x0707 }),
        state((e) => expect(e.tunnels.has(0x0707)).toBe(false)),
      )
  })
})

describe('an old tunnel of a failed peer (remote-endpoint role)', () => {
  it('FO-29: retransmissions to a C-capable peer run out, the tunnel is kept for its Recovery Time, then closed', () => {
    // A Recovery Time longer than a full retransmission cycle (31 s), so the hold shows.
    const peerFo = { ...FO, recoveryTimeMs: 60_000 }
    const s = given(
      { ...LNS, failover: FO },
      ...peerOpensTunnel({ failoverCapability: peerFo }),
      ...peerCalls(),
    )
    const tid = onlyTunnel(s.engine)
    // Something of ours the silent peer must acknowledge: a CDN.
    s.and((e) => ({
      _tag: 'CloseSession',
      tunnelId: tid,
      sessionId: onlySession(e),
      resultCode: 3,
      reason: null,
    }))
    s.whenTimersUntil((o) => o.engine.tunnels.get(tid)?.channel.dead === true).then(
      emitsNothing(),
      state((e) => expect(e.tunnels.get(tid)?.state).toBe('established')),
    )
    s.whenTimersUntil(emitted('TunnelClosed')).then(
      emits('TunnelClosed', { localTunnelId: tid, closedBy: 'timeout' }),
      (o) => expect(o.now).toBeGreaterThanOrEqual(peerFo.recoveryTimeMs),
    )
  })
})
