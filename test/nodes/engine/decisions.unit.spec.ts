// Given-when-then: every operator command's decision (nodes/engine/decide.ts), the refusal
// reasons kept apart by the engine, and a takeover as an engine input (nodes/engine/takeover.ts).
import { describe, expect, it } from 'vitest'
import { type TunnelFacts, tunnelEstablished } from '../../../contracts/index.js'
import {
  accepts,
  datagram,
  effect,
  emits,
  emitsExactly,
  given,
  MT,
  onlySession,
  onlyTunnel,
  PEER,
  peerCalls,
  peerOpensTunnel,
  rejects,
  sccrqAvps,
  sends,
  sendsNo,
  state,
} from '../../support/engine-spec.js'
import { foldEvents } from '../../support/fold.js'
import { FO, oldTunnel } from './tp.js'

const LNS = { role: 'LNS' } as const
const WITH_FO = { ...LNS, failover: FO }

describe('CloseTunnel decision', () => {
  it('an open tunnel is closed with StopCCN result 1 and the operator as reason (RFC 2661 §4.4.2)', () => {
    const s = given(LNS, ...peerOpensTunnel())
    const tid = onlyTunnel(s.engine)
    s.whenCommand({ _tag: 'CloseTunnel', localTunnelId: tid, reason: null, issuer: 'ops' }).then(
      accepts({ _tag: 'CloseTunnel', tunnelId: tid, resultCode: 1, reason: 'closed by ops' }),
    )
    s.whenCommand({ _tag: 'CloseTunnel', localTunnelId: tid, reason: 'maintenance', issuer: 'ops' }).then(
      accepts({ _tag: 'CloseTunnel', tunnelId: tid, resultCode: 1, reason: 'maintenance' }),
    )
  })

  it('no such tunnel, a lingering one and a recovery tunnel are NotFound', () => {
    given(LNS)
      .whenCommand({ _tag: 'CloseTunnel', localTunnelId: 9, reason: null, issuer: 'ops' })
      .then(rejects('NotFound', 'no open tunnel 9'))
    const s = given(LNS, ...peerOpensTunnel())
    const tid = onlyTunnel(s.engine)
    s.and(datagram({ tunnelId: tid, sessionId: 0, ns: 2, nr: 1, type: MT.StopCCN, avps: stopAvps() }))
    s.whenCommand({ _tag: 'CloseTunnel', localTunnelId: tid, reason: null, issuer: 'ops' }).then(
      rejects('NotFound'),
    )
    const r = given(WITH_FO, { _tag: 'Recover', tunnel: oldTunnel() })
    const recoveryTunnel = [...r.engine.tunnels.values()].find((t) => t.recoveryOf !== null)?.localId ?? 0
    r.whenCommand({ _tag: 'CloseTunnel', localTunnelId: recoveryTunnel, reason: null, issuer: 'ops' }).then(
      rejects('NotFound'),
    )
  })
})

const stopAvps = () => ({
  assignedTunnelId: 0x0909,
  resultCode: { result: 1, error: null, message: null },
})

describe('CloseSession decision', () => {
  it('a session is closed with CDN result 3, administrative (RFC 2661 §4.4.2)', () => {
    const s = given(LNS, ...peerOpensTunnel(), ...peerCalls())
    const tid = onlyTunnel(s.engine)
    const sid = onlySession(s.engine)
    s.whenCommand({
      _tag: 'CloseSession',
      localTunnelId: tid,
      localSessionId: sid,
      reason: null,
      issuer: 'ops',
    }).then(
      accepts({
        _tag: 'CloseSession',
        tunnelId: tid,
        sessionId: sid,
        resultCode: 3,
        reason: 'closed by ops',
      }),
    )
  })

  it('an unknown session is NotFound', () => {
    const s = given(LNS, ...peerOpensTunnel())
    const tid = onlyTunnel(s.engine)
    s.whenCommand({
      _tag: 'CloseSession',
      localTunnelId: tid,
      localSessionId: 5,
      reason: null,
      issuer: 'ops',
    }).then(rejects('NotFound', `no session 5 on tunnel ${tid}`))
  })
})

describe('SyncSessions decision (RFC 4951 §5.9)', () => {
  it('FO-53: a tunnel whose peer speaks RFC 4951 is queried', () => {
    const s = given(WITH_FO, ...peerOpensTunnel({ failoverCapability: FO }))
    const tid = onlyTunnel(s.engine)
    s.whenCommand({ _tag: 'SyncSessions', localTunnelId: tid }).then(
      accepts({ _tag: 'QuerySessions', tunnelId: tid }),
    )
    s.whenCommand({ _tag: 'SyncSessions', localTunnelId: null }).then(
      accepts({ _tag: 'QuerySessions', tunnelId: tid }),
    )
  })

  it('FO-53: a legacy peer is a Conflict when named, skipped when all are synced', () => {
    const s = given(WITH_FO, ...peerOpensTunnel())
    const tid = onlyTunnel(s.engine)
    s.whenCommand({ _tag: 'SyncSessions', localTunnelId: tid }).then(
      rejects('Conflict', 'did not advertise RFC 4951 failover'),
    )
    s.whenCommand({ _tag: 'SyncSessions', localTunnelId: null }).then(accepts())
  })

  it('a tunnel awaiting its control channel reset is neither queried nor counted (the engine rule)', () => {
    // Recover puts the old tunnel back, established but awaiting its reset (RFC 4951 §5.8).
    const s = given(WITH_FO, { _tag: 'Recover', tunnel: oldTunnel() })
    s.whenCommand({ _tag: 'SyncSessions', localTunnelId: 0x0707 }).then(
      rejects('NotFound', 'no established tunnel 1799'),
    )
    s.whenCommand({ _tag: 'SyncSessions', localTunnelId: null }).then(accepts())
    s.when({ _tag: 'QuerySessions', tunnelId: 0x0707 }).then(sendsNo(MT.FSQ))
  })

  it('an unknown tunnel is NotFound', () => {
    given(WITH_FO)
      .whenCommand({ _tag: 'SyncSessions', localTunnelId: 4 })
      .then(rejects('NotFound', 'no established tunnel 4'))
  })
})

describe('Drain and Undrain decisions', () => {
  it('drain sets the operator reason, undrain lifts it only', () => {
    given(LNS)
      .whenCommand({ _tag: 'Drain' })
      .then(accepts({ _tag: 'SetRefuseNew', reason: 'drain', on: true }))
    given(LNS)
      .whenCommand({ _tag: 'Undrain' })
      .then(accepts({ _tag: 'SetRefuseNew', reason: 'drain', on: false }))
  })
})

const newTunnel = datagram({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, type: MT.SCCRQ, avps: sccrqAvps(5) })

describe('refusal reasons in the engine (SetRefuseNew)', () => {
  it('an outbox that drains does not lift an operator drain: StopCCN 2/4 until every reason is gone', () => {
    const s = given(
      LNS,
      { _tag: 'SetRefuseNew', reason: 'drain', on: true },
      { _tag: 'SetRefuseNew', reason: 'outbox', on: true },
      { _tag: 'SetRefuseNew', reason: 'outbox', on: false },
    )
    s.when(newTunnel).then(
      sends(MT.StopCCN, (m) => expect(m.avps.resultCode).toMatchObject({ result: 2, error: 4 })),
      state((e) => expect([...e.refusing]).toEqual(['drain'])),
    )
  })

  it('an undrain does not lift outbox pressure; with no reason left a tunnel is answered', () => {
    const s = given(
      LNS,
      { _tag: 'SetRefuseNew', reason: 'outbox', on: true },
      { _tag: 'SetRefuseNew', reason: 'drain', on: true },
      { _tag: 'SetRefuseNew', reason: 'drain', on: false },
    )
    s.when(newTunnel).then(sends(MT.StopCCN))
    given(
      LNS,
      { _tag: 'SetRefuseNew', reason: 'outbox', on: true },
      { _tag: 'SetRefuseNew', reason: 'outbox', on: false },
    )
      .when(newTunnel)
      .then(
        sends(MT.SCCRP),
        state((e) => expect(e.refuseNew).toBe(false)),
      )
  })
})

const facts = (localTunnelId: number, peerFailover: TunnelFacts['peerFailover']): TunnelFacts => ({
  localTunnelId,
  remoteTunnelId: 0x0909 + localTunnelId,
  local: { host: '127.0.0.2', port: 1701 as TunnelFacts['local']['port'] },
  peer: PEER,
  role: 'LNS',
  originator: 'peer',
  localHostName: 'lns-a',
  peerHostName: 'tp',
  peerVendorName: null,
  peerFirmwareRevision: null,
  peerFraming: { sync: true, async: false },
  peerBearer: { digital: true, analog: false },
  localReceiveWindow: 16,
  peerReceiveWindow: 4,
  localFailover: FO,
  peerFailover,
  authenticated: false,
  secretRef: null,
})

/** The previous owner's table: tunnel 7 can be recovered (the peer advertised C), tunnel 8 cannot. */
const oldTable = () => foldEvents([tunnelEstablished(facts(7, FO)), tunnelEstablished(facts(8, null))])

describe('TakeOver input (RFC 4951 §5.1)', () => {
  it('activates, closes the tunnel that cannot be recovered with StopCCN result 6 and queues the other', () => {
    given(WITH_FO)
      .when({ _tag: 'TakeOver', table: oldTable(), epoch: 3 })
      .then(
        emitsExactly('EndpointActivated', 'TunnelClosed'),
        emits('EndpointActivated', { role: 'LNS', hostName: 'lns-a', address: { host: '127.0.0.2' } }),
        emits('TunnelClosed', { localTunnelId: 8, resultCode: 6, errorCode: null, closedBy: 'recovery' }),
        effect('TakenOver', { epoch: 3, rehydrated: 2, recoverable: 1, closed: 1, queued: 1 }),
        sendsNo(),
        state((e) => {
          expect([...e.pending.keys()]).toEqual([7])
          expect([...e.tombstones.keys()]).toEqual([8])
        }),
      )
  })

  it('the shell paces: RecoverQueued starts the queued recoveries (FO-08)', () => {
    given(WITH_FO, { _tag: 'TakeOver', table: oldTable(), epoch: 3 })
      .when({ _tag: 'RecoverQueued', max: 256 })
      .then(
        sends(MT.SCCRQ, (m) =>
          expect(m.avps.tunnelRecovery).toEqual({ recoverTunnelId: 7, recoverRemoteTunnelId: 0x0909 + 7 }),
        ),
        emits('TunnelRecoveryStarted', { localTunnelId: 7 }),
        state((e) => expect(e.pending.size).toBe(0)),
      )
  })

  it('at most `max` recoveries start per RecoverQueued', () => {
    const table = foldEvents([7, 9, 11].map((id) => tunnelEstablished(facts(id, FO))))
    given(WITH_FO, { _tag: 'TakeOver', table, epoch: 2 })
      .when({ _tag: 'RecoverQueued', max: 2 })
      .then(state((e) => expect([...e.pending.keys()]).toEqual([11])))
  })
})
