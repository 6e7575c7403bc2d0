// A scripted test peer (TP) around one engine under test (DUT): sends hand-built datagrams,
// decodes what the DUT sends back. Fake clock; no sockets.
import { createEngine, step } from '../../../nodes/engine/engine.js'
import type { Effect, Engine, EngineConfig, Input } from '../../../nodes/engine/types.js'
import {
  type ControlMessage,
  decodePacket,
  encodeControl,
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
      type: 1,
      avps: { ...sccrqAvps(tpTunnel), ...extraSccrq },
    })
    this.dutTunnel = sccrp?.avps.assignedTunnelId ?? 0
    this.send({ tunnelId: this.dutTunnel, sessionId: 0, type: 3, avps: {} })
    return this.dutTunnel
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
