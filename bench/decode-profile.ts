// Where the per-event time of the fold goes, in memory (no Kafka): bytes -> JSON.parse,
// io-ts validation (type guard, decode on failure), evolve. Same event mix as the replay bench.
import { decodeEvent, type L2tpEvent } from '../contracts/index.js'
import { evolveFleet, type Fleet } from '../registry/index.js'
import { sessionEstablished, tunnelEstablished } from '../test/support/history.js'

export const sampleValues = (n: number): Buffer[] => {
  const out: Buffer[] = []
  let seq = 0
  const env = () => ({
    endpointId: 'prof-1',
    epoch: 1,
    seq: ++seq,
    at: 1_700_000_000_000 + seq,
    nodeId: 'node-1',
  })
  for (let t = 1; out.length < n; t++) {
    const tid = (t % 65535) + 1
    out.push(Buffer.from(JSON.stringify(tunnelEstablished(env(), tid, 1))))
    for (let s = 1; s <= 100 && out.length < n; s++)
      out.push(Buffer.from(JSON.stringify(sessionEstablished(env(), tid, s, s))))
  }
  return out
}

const perEvent = (n: number, f: () => void): number => {
  const t0 = performance.now()
  f()
  return ((performance.now() - t0) * 1000) / n
}

export interface DecodeProfile {
  readonly parseUsPerEvent: number
  readonly validateUsPerEvent: number
  readonly evolveUsPerEvent: number
  readonly bytesPerEvent: number
}

/** Three rounds, the best of each stage (the first rounds warm the JIT up). */
export const decodeProfile = (n = 200_000): DecodeProfile => {
  const values = sampleValues(n)
  let best = { parse: Infinity, validate: Infinity, evolve: Infinity }
  for (let round = 0; round < 3; round++) {
    const json: unknown[] = new Array(n)
    const events: L2tpEvent[] = []
    const parse = perEvent(n, () => {
      for (let i = 0; i < n; i++) json[i] = JSON.parse((values[i] as Buffer).toString('utf8'))
    })
    const validate = perEvent(n, () => {
      for (const j of json) {
        const r = decodeEvent(j)
        if (r._tag === 'Right') events.push(r.right)
      }
    })
    const fleet: Fleet = new Map()
    const evolve = perEvent(n, () => {
      for (const e of events) evolveFleet(fleet, e)
    })
    if (events.length !== n) throw new Error('profile sample did not validate')
    best = {
      parse: Math.min(best.parse, parse),
      validate: Math.min(best.validate, validate),
      evolve: Math.min(best.evolve, evolve),
    }
  }
  const r3 = (x: number) => Number(x.toFixed(3))
  return {
    parseUsPerEvent: r3(best.parse),
    validateUsPerEvent: r3(best.validate),
    evolveUsPerEvent: r3(best.evolve),
    bytesPerEvent: Math.round(values.reduce((a, v) => a + v.length, 0) / n),
  }
}

if (process.argv[1]?.endsWith('decode-profile.ts')) console.table(decodeProfile())
