// Where the registry fold's CPU time goes, in memory (no Kafka), on the fleet bench's history:
// binary records -> decode with validation -> evolve, and the snapshot codec at that size.
// CPU time of this thread (process.cpuUsage), so that a loaded machine moves it less than wall
// time. Run: node --expose-gc --import tsx bench/fold-profile.ts [SESSIONS]
import { encodeEventBinary, type L2tpEvent, parseEvent, unsafe } from '../contracts/index.js'
import {
  decodeSnapshot,
  encodeSnapshotBinary,
  evolveFleet,
  type Fleet,
  sessionCount,
} from '../registry/index.js'
import { endpointHistory } from './fleet-history.js'

const cpuMs = (f: () => void): number => {
  const t0 = process.cpuUsage()
  f()
  const d = process.cpuUsage(t0)
  return (d.user + d.system) / 1000
}

export const foldProfile = (sessions: number, endpoints = 200) => {
  const perEndpoint = Math.floor(sessions / endpoints)
  const shape = { tunnels: Math.ceil(perEndpoint / 100), perEndpoint, churn: 0.5 }
  const values: Buffer[] = []
  const gens = Array.from({ length: endpoints }, (_, i) => endpointHistory(i, { n: 0 }, shape))
  // Interleaved like the topic's partitions are: 500 events of each endpoint in turn.
  for (let live = gens.length; live > 0; ) {
    live = 0
    for (const g of gens)
      for (let j = 0; j < 500; j++) {
        const r = g.next()
        if (r.done === true) break
        if (j === 499) live++
        values.push(encodeEventBinary(r.value as L2tpEvent))
      }
  }
  let ok = 0
  const decodeMs = cpuMs(() => {
    for (const v of values) if (parseEvent(v)._tag === 'Right') ok++
  })
  if (ok !== values.length) throw new Error('bad record')
  const fleet: Fleet = new Map()
  const foldMs = cpuMs(() => {
    for (const v of values) {
      const e = parseEvent(v)
      if (e._tag === 'Right') evolveFleet(fleet, e.right)
    }
  })
  let held = 0
  for (const t of fleet.values()) held += sessionCount(t)
  let bytes = 0
  const encoded: Buffer[] = []
  const snapshotEncodeMs = cpuMs(() => {
    for (const t of fleet.values()) {
      const b = encodeSnapshotBinary({ table: t, partition: 0, nextOffset: unsafe.offset('1') })
      bytes += b.length
      encoded.push(b)
    }
  })
  const snapshotDecodeMs = cpuMs(() => {
    for (const b of encoded) if (decodeSnapshot(b)._tag === 'Left') throw new Error('bad snapshot')
  })
  const us = (ms: number, n: number) => Number(((ms * 1000) / n).toFixed(3))
  return {
    events: values.length,
    sessions: held,
    decodeUsPerEvent: us(decodeMs, values.length),
    /** Decode + evolve, one event after the other (what the registry does per record). */
    foldUsPerEvent: us(foldMs, values.length),
    snapshotBytesPerSession: Number((bytes / held).toFixed(1)),
    snapshotEncodeUsPerSession: us(snapshotEncodeMs, held),
    snapshotDecodeUsPerSession: us(snapshotDecodeMs, held),
  }
}

if (process.argv[1]?.endsWith('fold-profile.ts'))
  console.table(foldProfile(Number(process.argv[2] ?? 1_000_000)))
