// 1,000,000 random and mutated datagrams: decode never throws, every failure is a typed error,
// and an engine fed with them never throws and counts what it dropped.
import { describe, expect, it } from 'vitest'
import { createEngine, step } from '../../../nodes/engine/engine.js'
import { decodePacket, encodeControl } from '../../../nodes/wire/index.js'
import { mulberry32 } from '../../support/history.js'
import { addr, engineConfig, seededRng } from '../../support/sim.js'
import { FIXTURES, fixtureHex } from './fixtures.js'

const seeds = FIXTURES.map((f) => new Uint8Array(Buffer.from(fixtureHex(f), 'hex')))

const mutate = (rnd: () => number, base: Uint8Array): Uint8Array => {
  const d = base.slice()
  const kind = Math.floor(rnd() * 5)
  if (kind === 0) return Uint8Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)) // random bytes
  if (kind === 1) return d.subarray(0, Math.floor(rnd() * d.length)) // truncated
  const flips = 1 + Math.floor(rnd() * 4)
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(rnd() * d.length)
    d[at] = kind === 2 ? (d[at] as number) ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 256)
  }
  if (kind === 4 && d.length > 4) {
    // Lie in the Length field or an AVP length.
    const at = rnd() < 0.5 ? 2 : 12 + Math.floor(rnd() * (d.length - 12))
    d[at] = Math.floor(rnd() * 256)
  }
  return d
}

describe('decode never throws on hostile input', () => {
  it('1,000,000 random and mutated datagrams: typed result every time', () => {
    const rnd = mulberry32(2026)
    const tally = { ok: 0, error: 0 }
    const kinds = new Set<string>()
    for (let i = 0; i < 1_000_000; i++) {
      const d = mutate(rnd, seeds[i % seeds.length] as Uint8Array)
      const r = decodePacket(d, i % 2 === 0 ? new Uint8Array([1, 2, 3]) : null)
      if (r._tag === 'Left') {
        tally.error++
        kinds.add(r.left._tag)
      } else tally.ok++
    }
    expect(tally.ok + tally.error).toBe(1_000_000)
    expect(tally.error).toBeGreaterThan(100_000)
    expect(tally.ok).toBeGreaterThan(100_000)
    for (const k of ['MalformedHeader', 'MalformedAvp', 'BadVersion', 'MissingMessageType'])
      expect(kinds).toContain(k)
  })

  it('an LNS engine fed 200,000 mutated datagrams never throws and counts malformed input', () => {
    const rnd = mulberry32(7)
    const e = createEngine(engineConfig({ role: 'LNS' }), addr('127.0.0.2'))
    const rng = seededRng(3)
    // Real SCCRQs from two peers first, so mutated messages also reach live tunnels.
    const sccrq = encodeControl({
      tunnelId: 0,
      sessionId: 0,
      ns: 0,
      nr: 0,
      type: 1,
      avps: {
        protocolVersion: { ver: 1, rev: 0 },
        hostName: 'p',
        framingCapabilities: { sync: true, async: false },
        assignedTunnelId: 9,
      },
    })
    let now = 0
    step(e, { _tag: 'Datagram', from: addr('127.0.0.9'), bytes: sccrq }, now, rng)
    for (let i = 0; i < 200_000; i++) {
      now += 1
      const d = mutate(rnd, seeds[i % seeds.length] as Uint8Array)
      const tid = [...e.tunnels.keys()][0]
      if (tid !== undefined && d.length >= 6 && i % 3 === 0) {
        d[4] = tid >> 8
        d[5] = tid & 0xff
      }
      step(e, { _tag: 'Datagram', from: addr('127.0.0.9'), bytes: d }, now, rng)
      if (i % 1000 === 0)
        for (const id of [...e.tunnels.keys()]) step(e, { _tag: 'Timer', tunnelId: id }, now, rng)
    }
    expect(e.stats.datagrams).toBe(200_001)
    expect(e.stats.malformed).toBeGreaterThan(10_000)
    expect(e.stats.discarded).toBeGreaterThanOrEqual(e.stats.malformed)
  })
})
