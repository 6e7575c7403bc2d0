// A scripted test peer (TP) around one engine under test (DUT): sends hand-built datagrams,
// decodes what the DUT sends back. Fake clock; no sockets.

import { createEngine, step } from '../../../nodes/engine/engine.js'
import type { Effect, Engine, EngineConfig, Input, RecoverableTunnel } from '../../../nodes/engine/types.js'
import {
  type ControlMessage,
  decodePacket,
  encodeControl,
  MessageType as MT,
  type OutgoingControl,
  type RawAvp,
} from '../../../nodes/wire/index.js'
import { addr, engineConfig, seededRng } from '../../support/sim.js'

export const DUT_ADDR = addr('127.0.0.2')
export const TP_ADDR = addr('127.0.0.9', 1701)

export class Tp {
  readonly dut: Engine
  now = 0
  readonly rng = seededRng(11)
  readonly sent: ControlMessage[] = []
  readonly effects: Effect[] = []
  /** TP's own sequence state toward the DUT. */
  ns = 0
  nr = 0
  dutTunnel = 0

  constructor(over: Partial<EngineConfig> = {}) {
    this.dut = createEngine(engineConfig(over), DUT_ADDR)
  }

  input(i: Input): ControlMessage[] {
    const fx = step(this.dut, i, this.now, this.rng)
    this.effects.push(...fx)
    const out: ControlMessage[] = []
    for (const f of fx) {
      if (f._tag !== 'Send') continue
      const r = decodePacket(f.bytes)
      if (r._tag === 'Right' && r.right._tag === 'Control') {
        out.push(r.right.msg)
        this.sent.push(r.right.msg)
        if (r.right.msg.type !== null) this.nr = (r.right.msg.ns + 1) & 0xffff
      }
    }
    return out
  }

  raw(bytes: Uint8Array): ControlMessage[] {
    return this.input({ _tag: 'Datagram', from: TP_ADDR, bytes })
  }

  /** Sends a control message with TP's Ns/Nr (consuming an Ns unless it is a ZLB). */
  send(m: Omit<OutgoingControl, 'ns' | 'nr'> & { extra?: readonly RawAvp[] }): ControlMessage[] {
    const bytes = encodeControl({ ...m, ns: this.ns, nr: this.nr })
    if (m.type !== null) this.ns = (this.ns + 1) & 0xffff
    return this.raw(bytes)
  }

  /** Advances the clock, running DUT timers that are due. */
  advance(ms: number): ControlMessage[] {
    const out: ControlMessage[] = []
    const end = this.now + ms
    for (let t = this.now; t <= end; t += 10) {
      this.now = t
      for (const id of [...this.dut.tunnels.keys()]) out.push(...this.input({ _tag: 'Timer', tunnelId: id }))
    }
    return out
  }

  /** TP as LAC: opens a tunnel to an LNS DUT (SCCRQ, then SCCCN). Returns the DUT's tunnel id. */
  openTunnel(extraSccrq: Partial<OutgoingControl['avps']> = {}, tpTunnel = 0x0909): number {
    const [sccrp] = this.send({
      tunnelId: 0,
      sessionId: 0,
      type: MT.SCCRQ,
      avps: { ...sccrqAvps(tpTunnel), ...extraSccrq },
    })
    this.dutTunnel = sccrp?.avps.assignedTunnelId ?? 0
    this.send({ tunnelId: this.dutTunnel, sessionId: 0, type: MT.SCCCN, avps: {} })
    return this.dutTunnel
  }

  /** TP as LAC: an incoming call on the DUT's tunnel (ICRQ, then ICCN). Returns the DUT's session id. */
  openSession(tunnelId: number, tpSession: number, callSerialNumber = 1): number {
    const [icrp] = this.send({
      tunnelId,
      sessionId: 0,
      type: MT.ICRQ,
      avps: { assignedSessionId: tpSession, callSerialNumber },
    })
    const sid = icrp?.avps.assignedSessionId as number
    this.send({
      tunnelId,
      sessionId: sid,
      type: MT.ICCN,
      avps: { txConnectSpeed: 1000, framingType: { sync: true, async: false } },
    })
    return sid
  }

  types(ms: readonly ControlMessage[]): Array<number | null> {
    return ms.map((m) => m.type)
  }
}

export const sccrqAvps = (tunnelId: number) => ({
  protocolVersion: { ver: 1, rev: 0 },
  hostName: 'tp',
  framingCapabilities: { sync: true, async: false },
  bearerCapabilities: { digital: true, analog: false },
  assignedTunnelId: tunnelId,
  receiveWindowSize: 4,
})

/**
 * The AVPs of a recovery SCCRQ from TP (RFC 4951 §5.3): a new tunnel `tpTunnel` recovering the
 * DUT's old tunnel `dutOld`, whose TP side was `tpOld`; Tie Breaker `tie` (FO-10).
 */
export const recoverySccrqAvps = (
  o: { dutOld: number; tpOld?: number; tpTunnel?: number; tie?: Uint8Array } = { dutOld: 0 },
) => ({
  ...sccrqAvps(o.tpTunnel ?? 0x0a0a),
  tieBreaker: o.tie ?? new Uint8Array(8),
  tunnelRecovery: { recoverTunnelId: o.tpOld ?? 0x0909, recoverRemoteTunnelId: o.dutOld },
})

/** A Failover Capability with C and D (RFC 4951), 30 s Recovery Time. */
export const FO = { control: true, data: true, recoveryTimeMs: 30_000 }

/** An old tunnel toward TP as a rehydrated table gives it to the recovery endpoint. */
export const oldTunnel = (over: Partial<RecoverableTunnel> = {}): RecoverableTunnel => ({
  localTunnelId: 0x0707,
  remoteTunnelId: 0x0909,
  peer: TP_ADDR,
  peerHostName: 'tp',
  authenticated: false,
  peerWindow: 4,
  peerFailover: FO,
  peerFraming: { sync: true, async: false },
  peerBearer: { digital: true, analog: false },
  sessions: [
    { localSessionId: 1, remoteSessionId: 2, callSerial: 1, direction: 'incoming', sequencing: false },
  ],
  ...over,
})

/** DUT with failover (and `over`); TP opens a tunnel advertising failover with one call (TP id 0x0303). */
export const withFailoverTunnel = (over: Partial<EngineConfig> = {}) => {
  const tp = new Tp({ failover: FO, ...over })
  const tid = tp.openTunnel({ failoverCapability: FO })
  const sid = tp.openSession(tid, 0x0303)
  return { tp, tid, sid }
}
