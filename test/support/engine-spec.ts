// Given-when-then for the engine and its decisions (STYLE.md §11, emmett DeciderSpecification):
//   given(config, ...history).when(input).then(sends(MT.SCCRP), emits('TunnelEstablished'))
//   given(config, ...history).whenCommand(cmd).then(accepts(...)) / .then(rejects('NotFound'))
// The helper runs the engine on a fake clock with a seeded rng; tests say what, not how. Tests only.
import { expect } from 'vitest'
import type { EventType } from '../../contracts/index.js'
import { type Decision, decide, type OperatorCommand } from '../../nodes/engine/decide.js'
import { createEngine, step } from '../../nodes/engine/engine.js'
import type { Effect, Engine, EngineConfig, EventBody, Input } from '../../nodes/engine/types.js'
import {
  type ControlMessage,
  decodePacket,
  encodeControl,
  MessageType,
  type OutgoingControl,
} from '../../nodes/wire/index.js'
import { addr, engineConfig, seededRng } from './sim.js'

/** Message types by RFC acronym (RFC 2661 §3.2), for tests: `MT.ICRQ`, never `10`. */
export const MT = MessageType

export const DUT = addr('127.0.0.2')
export const PEER = addr('127.0.0.9', 1701)

/** A step of history: an input, one built from the engine's state, or the clock moving on. */
export type Given = Input | ((e: Engine) => Input) | { readonly _tag: 'Advance'; readonly ms: number }

export const advance = (ms: number): Given => ({ _tag: 'Advance', ms })

/** A datagram from the peer (PEER unless `from` is given). */
export const datagram = (m: OutgoingControl, from = PEER): Input => ({
  _tag: 'Datagram',
  from,
  bytes: encodeControl(m),
})

/** The Timer input of a tunnel chosen from the engine's state (e.g. the only one). */
export const timerOf =
  (pick: (e: Engine) => number): ((e: Engine) => Input) =>
  (e) => ({ _tag: 'Timer', tunnelId: pick(e) })

export interface Outcome {
  readonly engine: Engine
  readonly now: number
  readonly effects: readonly Effect[]
  readonly events: readonly EventBody[]
  /** The control messages in the Send effects, decoded. */
  readonly sent: readonly ControlMessage[]
}

export type Then = (o: Outcome) => void

const decodeSent = (fx: readonly Effect[]): ControlMessage[] =>
  fx.flatMap((f) => {
    if (f._tag !== 'Send') return []
    const r = decodePacket(f.bytes)
    return r._tag === 'Right' && r.right._tag === 'Control' ? [r.right.msg] : []
  })

/** The "then" of a "when": runs the checks on what came out and returns it. */
export interface Checked<A> {
  readonly then: (...checks: Array<(a: A) => void>) => A
}

const checked = <A>(a: A): Checked<A> => ({
  // biome-ignore lint/suspicious/noThenProperty: given/when/then reads as the spec (STYLE.md §11); never awaited
  then: (...checks) => {
    for (const c of checks) c(a)
    return a
  },
})

export class Scenario {
  readonly engine: Engine
  now = 0
  private readonly rng = seededRng(11)
  /** When each tunnel's timer is armed for (the Arm effects so far). */
  private readonly armed = new Map<number, number>()

  constructor(config: Partial<EngineConfig>, history: readonly Given[]) {
    this.engine = createEngine(engineConfig(config), DUT)
    for (const g of history) this.run(g)
  }

  private run(g: Given): Outcome {
    if (typeof g !== 'function' && g._tag === 'Advance') {
      this.now += g.ms
      return { engine: this.engine, now: this.now, effects: [], events: [], sent: [] }
    }
    const input = typeof g === 'function' ? g(this.engine) : g
    const effects = step(this.engine, input, this.now, this.rng)
    for (const f of effects) {
      if (f._tag === 'Disarm') this.armed.delete(f.tunnelId)
      if (f._tag === 'Arm') this.armed.set(f.tunnelId, f.at)
    }
    const events = effects.flatMap((f) => (f._tag === 'Emit' ? [f.event] : []))
    return { engine: this.engine, now: this.now, effects, events, sent: decodeSent(effects) }
  }

  /** More history. */
  and(...history: readonly Given[]): this {
    for (const g of history) this.run(g)
    return this
  }

  /** Runs one input (at `at` ms after the history, when given) and checks what came out. */
  when(input: Input | ((e: Engine) => Input), at = 0): Checked<Outcome> {
    this.now += at
    return checked(this.run(input))
  }

  /**
   * Fires armed timers in time order (the clock jumps to each) until one firing's outcome
   * satisfies `until`; that firing is the "when". Bounded: fails after `max` firings.
   */
  whenTimersUntil(until: (o: Outcome) => boolean, max = 500): Checked<Outcome> {
    for (let i = 0; i < max; i++) {
      const next = [...this.armed.entries()].sort((a, b) => a[1] - b[1])[0]
      if (next === undefined) break
      this.armed.delete(next[0])
      this.now = Math.max(this.now, next[1])
      const o = this.run({ _tag: 'Timer', tunnelId: next[0] })
      if (until(o)) return checked(o)
    }
    throw new Error('no timer firing reached the condition')
  }

  /** Decides an operator command on the engine's state (nothing is fed to the engine). */
  whenCommand(c: OperatorCommand): Checked<Decision> {
    return checked(decide(c, this.engine))
  }
}

export const given = (config: Partial<EngineConfig> = {}, ...history: readonly Given[]): Scenario =>
  new Scenario(config, history)

// --- history builders ---------------------------------------------------------------------

/** What a peer LAC says of itself in its SCCRQ (RFC 2661 §6.1); Assigned Tunnel ID `peerTunnel`. */
export const sccrqAvps = (peerTunnel: number) => ({
  protocolVersion: { ver: 1, rev: 0 },
  hostName: 'tp',
  framingCapabilities: { sync: true, async: false },
  bearerCapabilities: { digital: true, analog: false },
  assignedTunnelId: peerTunnel,
  receiveWindowSize: 4,
})

/** The local id of the engine's only (first) tunnel. */
export const onlyTunnel = (e: Engine): number => [...e.tunnels.keys()][0] ?? 0

/** The local id of the first session of the engine's first tunnel. */
export const onlySession = (e: Engine): number =>
  [...([...e.tunnels.values()][0]?.sessions.keys() ?? [])][0] ?? 0

/** The peer opens a tunnel to an LNS under test: SCCRQ (Ns 0), SCCCN (Ns 1) (RFC 2661 §7.2). */
export const peerOpensTunnel = (
  avps: Partial<OutgoingControl['avps']> = {},
  peerTunnel = 0x0909,
): Given[] => [
  datagram({
    tunnelId: 0,
    sessionId: 0,
    ns: 0,
    nr: 0,
    type: MT.SCCRQ,
    avps: { ...sccrqAvps(peerTunnel), ...avps },
  }),
  (e) => datagram({ tunnelId: onlyTunnel(e), sessionId: 0, ns: 1, nr: 1, type: MT.SCCCN, avps: {} }),
]

/** The peer's incoming call on that tunnel: ICRQ (Ns 2), ICCN (Ns 3) (RFC 2661 §7.4.2). */
export const peerCalls = (peerSession = 0x0303): Given[] => [
  (e) =>
    datagram({
      tunnelId: onlyTunnel(e),
      sessionId: 0,
      ns: 2,
      nr: 1,
      type: MT.ICRQ,
      avps: { assignedSessionId: peerSession, callSerialNumber: 1 },
    }),
  (e) =>
    datagram({
      tunnelId: onlyTunnel(e),
      sessionId: onlySession(e),
      ns: 3,
      nr: 2,
      type: MT.ICCN,
      avps: { txConnectSpeed: 1000, framingType: { sync: true, async: false } },
    }),
]

// --- then: effects and events ---------------------------------------------------------------

/** A control message of this type went out (its fields matching `like`, when given). */
export const sends =
  (type: number, like: Partial<ControlMessage> | ((m: ControlMessage) => void) = {}): Then =>
  (o) => {
    const m = o.sent.find((x) => x.type === type)
    expect(m, `a message of type ${type} among ${o.sent.map((x) => x.type).join(',')}`).toBeDefined()
    if (m === undefined) return
    if (typeof like === 'function') like(m)
    else expect(m).toMatchObject(like)
  }

/** No control message of this type went out (any type, when none is given). */
export const sendsNo =
  (type?: number | null): Then =>
  (o) => {
    const found = type === undefined ? o.sent : o.sent.filter((m) => m.type === type)
    expect(found.map((m) => m.type)).toEqual([])
  }

/** Exactly these events, in order (types only); then optional field checks on each. */
export const emitsExactly =
  (...types: EventType[]): Then =>
  (o) =>
    expect(o.events.map((e) => e.type)).toEqual(types)

/** An event of this type was emitted, with these fields. */
export const emits =
  (type: EventType, like: Record<string, unknown> = {}): Then =>
  (o) => {
    const e = o.events.find((x) => x.type === type)
    expect(e, `${type} among ${o.events.map((x) => x.type).join(',')}`).toBeDefined()
    expect(e).toMatchObject(like)
  }

export const emitsNothing = (): Then => (o) => expect(o.events.map((e) => e.type)).toEqual([])

/** An effect with this tag (and fields) came out. */
export const effect =
  (tag: Effect['_tag'], like: Record<string, unknown> = {}): Then =>
  (o) => {
    const f = o.effects.find((x) => x._tag === tag)
    expect(f, `${tag} among ${o.effects.map((x) => x._tag).join(',')}`).toBeDefined()
    expect(f).toMatchObject(like)
  }

export const noEffect =
  (tag: Effect['_tag']): Then =>
  (o) =>
    expect(o.effects.filter((x) => x._tag === tag)).toEqual([])

/** A check of the engine's state afterwards (kept for what the effects cannot show). */
export const state =
  (check: (e: Engine) => void): Then =>
  (o) =>
    check(o.engine)

// --- then: decisions ------------------------------------------------------------------------

/** The command is accepted with exactly these inputs. */
export const accepts =
  (...inputs: Input[]): ((d: Decision) => void) =>
  (d) =>
    expect(d).toEqual({ _tag: 'Right', right: inputs })

/** The command is refused with this code (and a message containing `text`). */
export const rejects =
  (code: 'NotFound' | 'Conflict', text = ''): ((d: Decision) => void) =>
  (d) => {
    expect(d._tag).toBe('Left')
    if (d._tag === 'Left') {
      expect(d.left.code).toBe(code)
      expect(d.left.message).toContain(text)
    }
  }
