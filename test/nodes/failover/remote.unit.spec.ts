// RFC 4951 rules against a scripted test peer (TP); the engine is the DUT. Each test names its FO id.

import { describe, expect, it } from 'vitest'
import { encodeControl, MessageType as MT } from '../../../nodes/wire/index.js'
import { FO, oldTunnel, recoverySccrqAvps, sccrqAvps, Tp, withFailoverTunnel } from '../engine/tp.js'

const withTunnel = () => withFailoverTunnel()

describe('RFC 4951 remote-endpoint rules (engine as DUT)', () => {
  it('FO-07: a StopCCN carrying a Failover Capability AVP (draft-06 peers) is processed normally', () => {
    const { tp, tid } = withTunnel()
    tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.StopCCN,
      avps: {
        assignedTunnelId: 0x0909,
        resultCode: { result: 1, error: null, message: null },
        failoverCapability: FO,
      },
    })
    expect(tp.effects.some((f) => f._tag === 'TunnelDown')).toBe(true)
  })

  it('FO-16: a recovery SCCRQ naming unknown tunnel ids gets StopCCN', () => {
    const { tp } = withTunnel()
    tp.ns = 0
    const out = tp.raw(
      encodeControl({
        tunnelId: 0,
        sessionId: 0,
        ns: 0,
        nr: 0,
        type: MT.SCCRQ,
        avps: recoverySccrqAvps({ dutOld: 0x5555, tpOld: 0x4444 }),
      }),
    )
    expect(out.find((m) => m.type === MT.StopCCN)?.avps.resultCode?.message).toBe('no such tunnel to recover')
  })

  it('FO-19, FO-23: a valid recovery SCCRQ gets SCCRP with SCS; after SCCCN the old tunnel runs at the mirrored Ns/Nr', () => {
    const { tp, tid } = withTunnel()
    const [sccrp] = tp.raw(
      encodeControl({
        tunnelId: 0,
        sessionId: 0,
        ns: 0,
        nr: 0,
        type: MT.SCCRQ,
        avps: recoverySccrqAvps({ dutOld: tid }),
      }),
    )
    const scs = sccrp?.avps.suggestedControlSequence
    expect(scs).toBeDefined()
    expect(sccrp?.avps.failoverCapability).toBeUndefined()
    tp.raw(
      encodeControl({
        tunnelId: sccrp?.avps.assignedTunnelId as number,
        sessionId: 0,
        ns: 1,
        nr: 1,
        type: MT.SCCCN,
        avps: {},
      }),
    )
    // The DUT now speaks on the old tunnel with Ns = Suggested Nr, Nr = Suggested Ns (its FSQ).
    const fsq = tp.sent.find((m) => m.type === MT.FSQ)
    expect(fsq).toMatchObject({ tunnelId: 0x0909, ns: scs?.nr, nr: scs?.ns })
  })

  it('FO-43, FO-46: FSR answers Session ID 0 for unknown or mispaired sessions, the own id for a paired one (kept)', () => {
    const { tp, tid, sid } = withTunnel()
    const out = tp.send({
      tunnelId: tid,
      sessionId: 0,
      type: MT.FSQ,
      avps: {
        failoverSessionStates: [
          { sessionId: 0x0303, remoteSessionId: sid },
          { sessionId: 0x0404, remoteSessionId: 0x7777 },
          { sessionId: 0x0505, remoteSessionId: sid },
        ],
      },
    })
    const fsr = out.find((m) => m.type === MT.FSR)?.avps.failoverSessionStates
    expect(fsr).toEqual([
      { sessionId: sid, remoteSessionId: 0x0303 },
      { sessionId: 0, remoteSessionId: 0x0404 },
      { sessionId: 0, remoteSessionId: 0x0505 },
    ])
    expect(tp.dut.tunnels.get(tid)?.sessions.has(sid)).toBe(true)
  })

  it('FO-22: with no SCS in the recovery SCCRP, the recovery endpoint resets the old tunnel to Ns = Nr = 0', () => {
    const tp = new Tp({ failover: FO })
    tp.input({ _tag: 'Recover', tunnel: oldTunnel() })
    const sccrq = tp.sent.find((m) => m.type === MT.SCCRQ)
    expect(sccrq?.avps.tunnelRecovery).toEqual({ recoverTunnelId: 0x0707, recoverRemoteTunnelId: 0x0909 })
    tp.ns = 0
    tp.send({
      tunnelId: sccrq?.avps.assignedTunnelId as number,
      sessionId: 0,
      type: MT.SCCRP,
      avps: sccrqAvps(0x0b0b),
    })
    const fsq = tp.sent.find((m) => m.type === MT.FSQ)
    expect(fsq).toMatchObject({ tunnelId: 0x0909, ns: 0, nr: 0 })
  })
})
