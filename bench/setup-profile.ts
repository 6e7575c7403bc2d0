// Where an LNS's CPU per tunnel set up goes, in memory (no sockets): the SCCRQ and SCCCN
// datagrams of N tunnels, recorded once from a LAC engine, fed to (a) the bare engine, (b) the
// shell's endpoint without a socket (engine, timer heap, event record with the node's table),
// (c) the same with the node's lifecycle log hooks at level error; plus decode and record alone.
import type { Address } from '../contracts/index.js'
import { unsafe } from '../contracts/index.js'
import { type EndpointConfig, engineConfigOf } from '../nodes/cli/config.js'
import { createEngine, step } from '../nodes/engine/engine.js'
import type { Effect, EventBody, Rng } from '../nodes/engine/types.js'
import { EndpointWatch } from '../nodes/shell/observe.js'
import { UdpEndpoint } from '../nodes/shell/udp-endpoint.js'
import { decodePacket } from '../nodes/wire/index.js'
import { mulberry32 } from '../test/support/history.js'

const port = unsafe.port(1701)
const LAC: Address = { host: '127.0.0.91', port }
const LNS: Address = { host: '127.0.0.90', port }
const T0 = 1_700_000_000_000

/** Reproducible ids: the replay must make the same choices as the recording. */
const rngOf = (seed: number): Rng => {
  const r = mulberry32(seed)
  const pool = new Uint8Array(64 * 1024)
  let at = pool.length
  return {
    bytes: (n) => {
      if (at + n > pool.length) {
        for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(r() * 256)
        at = 0
      }
      at += n
      return pool.subarray(at - n, at)
    },
  }
}

const config = (id: string, role: 'LAC' | 'LNS', a: Address) =>
  engineConfigOf({ id, role, address: a, helloIntervalMs: 0, receiveWindow: 32 } as EndpointConfig)

interface Recording {
  /** SCCRQ, SCCCN of tunnel 0, then of tunnel 1, ... */
  readonly datagrams: Uint8Array[]
  readonly events: EventBody[]
}

const sends = (fx: readonly Effect[]): Uint8Array[] =>
  fx.flatMap((f) => (f._tag === 'Send' ? [Uint8Array.from(f.bytes)] : []))

export const setupProfileRecording = (n: number): Recording => {
  const lac = createEngine(config('prof-lac', 'LAC', LAC), LAC)
  const lns = createEngine(config('prof-lns', 'LNS', LNS), LNS)
  const lacRng = rngOf(1)
  const lnsRng = rngOf(2)
  const datagrams: Uint8Array[] = []
  const events: EventBody[] = []
  for (let i = 0; i < n; i++) {
    const [sccrq] = sends(step(lac, { _tag: 'OpenTunnel', peer: LNS }, T0, lacRng))
    if (sccrq === undefined) throw new Error('no SCCRQ')
    const [sccrp] = sends(step(lns, { _tag: 'Datagram', from: LAC, bytes: sccrq }, T0, lnsRng))
    if (sccrp === undefined) throw new Error('no SCCRP')
    const [scccn] = sends(step(lac, { _tag: 'Datagram', from: LNS, bytes: sccrp }, T0, lacRng))
    if (scccn === undefined) throw new Error('no SCCCN')
    const fx = step(lns, { _tag: 'Datagram', from: LAC, bytes: scccn }, T0, lnsRng)
    for (const f of fx) if (f._tag === 'Emit') events.push(f.event)
    datagrams.push(sccrq, scccn)
  }
  return { datagrams, events }
}

/** CPU time of this process in µs (not wall time: the machine is shared). */
const cpuUs = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** CPU µs per tunnel of `run` over a recording, best of `rounds` (the first ones warm up). */
const perTunnel = (n: number, rounds: number, run: () => void): number => {
  let best = Infinity
  for (let r = 0; r < rounds; r++) {
    const t0 = cpuUs()
    run()
    best = Math.min(best, cpuUs() - t0)
  }
  return best / n
}

/** The bare engine: datagrams in, then every tunnel's ack timer (what the shell's heap fires). */
const engineOnly = (rec: Recording) => (): void => {
  const lns = createEngine(config('prof-lns', 'LNS', LNS), LNS)
  const rng = rngOf(2)
  for (const bytes of rec.datagrams) step(lns, { _tag: 'Datagram', from: LAC, bytes }, T0, rng)
  for (const id of [...lns.tunnels.keys()]) step(lns, { _tag: 'Timer', tunnelId: id }, T0 + 100, rng)
}

interface Clocked {
  now: number
}

/** The shell's endpoint without a socket; the ack timers fired as the Node timer would. */
const shell = (rec: Recording, observed: boolean) => (): void => {
  const clock: Clocked = { now: T0 }
  const watch = new EndpointWatch(
    (_level, _msg, extra) => {
      void { endpoint: 'prof-lns', ...extra }
    },
    () => null,
  )
  const ep = new UdpEndpoint(
    config('prof-lns', 'LNS', LNS),
    LNS,
    { endpointId: unsafe.endpointId('prof-lns'), nodeId: unsafe.nodeId('prof'), epoch: 1 },
    { clock: () => clock.now, ...(observed ? { onEvent: watch.onEvent } : {}) },
  )
  for (const bytes of rec.datagrams) ep.input({ _tag: 'Datagram', from: LAC, bytes })
  clock.now += 100
  fireTimers(ep)
  void ep.stop()
}

/** Runs the endpoint's due timers now (its private timer callback). */
const fireTimers = (ep: UdpEndpoint): void => (ep as unknown as { fire(): void }).fire()

export interface SetupProfile {
  readonly decodeUs: number
  readonly engineUs: number
  readonly shellUs: number
  readonly shellObservedUs: number
  readonly recordUs: number
}

export const setupProfile = (n = 2000, rounds = 15): SetupProfile => {
  const rec = setupProfileRecording(n)
  const decodeUs = perTunnel(n, rounds, () => {
    for (const bytes of rec.datagrams) decodePacket(bytes, () => null)
  })
  const engineUs = perTunnel(n, rounds, engineOnly(rec))
  const shellUs = perTunnel(n, rounds, shell(rec, false))
  const shellObservedUs = perTunnel(n, rounds, shell(rec, true))
  const recordUs = perTunnel(n, rounds, () => {
    const ep = new UdpEndpoint(config('prof-lns', 'LNS', LNS), LNS, {
      endpointId: unsafe.endpointId('prof-lns'),
      nodeId: unsafe.nodeId('prof'),
      epoch: 1,
    })
    for (const e of rec.events) ep.record(e)
  })
  return { decodeUs, engineUs, shellUs, shellObservedUs, recordUs }
}

const isMain = process.argv[1]?.endsWith('setup-profile.ts') === true
if (isMain) {
  const p = setupProfile()
  for (const [k, v] of Object.entries(p)) console.log(`${k.padEnd(16)} ${v.toFixed(2)} µs/tunnel`)
}
