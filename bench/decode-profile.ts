// Where the per-event time of the fold goes, in memory (no Kafka): bytes -> JSON.parse,
// io-ts validation (type guard, decode on failure), evolve. Same event mix as the replay bench.
import { decodeBinaryEvent, decodeEvent, encodeEventBinary, type L2tpEvent } from '../contracts/index.js'
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
  /** The binary record of the same events: read + every predicate of the codec. */
  readonly binaryDecodeUsPerEvent: number
  readonly binaryBytesPerEvent: number
}

/** Three rounds, the best of each stage (the first rounds warm the JIT up). */
export const decodeProfile = (n = 200_000): DecodeProfile => {
  const values = sampleValues(n)
  let best = { parse: Infinity, validate: Infinity, evolve: Infinity, binary: Infinity }
  let binaries: Buffer[] = []
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
    if (binaries.length === 0) binaries = events.map(encodeEventBinary)
    let ok = 0
    const binary = perEvent(n, () => {
      for (const b of binaries) if (decodeBinaryEvent(b)._tag === 'Right') ok++
    })
    if (ok !== n) throw new Error('binary profile sample did not validate')
    best = {
      parse: Math.min(best.parse, parse),
      validate: Math.min(best.validate, validate),
      evolve: Math.min(best.evolve, evolve),
      binary: Math.min(best.binary, binary),
    }
  }
  const r3 = (x: number) => Number(x.toFixed(3))
  return {
    parseUsPerEvent: r3(best.parse),
    validateUsPerEvent: r3(best.validate),
    evolveUsPerEvent: r3(best.evolve),
    bytesPerEvent: Math.round(values.reduce((a, v) => a + v.length, 0) / n),
    binaryDecodeUsPerEvent: r3(best.binary),
    binaryBytesPerEvent: Math.round(binaries.reduce((a, v) => a + v.length, 0) / n),
  }
}

if (process.argv[1]?.endsWith('decode-profile.ts')) console.table(decodeProfile())
