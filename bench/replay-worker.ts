// The fold off the main thread (replay bench, figure c): batches of raw l2tp.events values come
// in one transferred buffer each; this worker decodes, validates and evolves them, and reports
// when it has folded `total` events. Measurement only: the registry folds on its main thread.
import { parentPort, workerData } from 'node:worker_threads'
import { parseEvent } from '../contracts/index.js'
import { evolveFleet, type Fleet, sessionCount } from '../registry/index.js'

const total = (workerData as { total: number }).total
const fleet: Fleet = new Map()
let seen = 0
let rejected = 0
parentPort?.on('message', (m: { buf: ArrayBuffer; ends: Uint32Array }) => {
  const bytes = Buffer.from(m.buf)
  let start = 0
  for (const end of m.ends) {
    const e = parseEvent(bytes.subarray(start, end))
    if (e._tag === 'Left') rejected++
    else evolveFleet(fleet, e.right)
    start = end
  }
  seen += m.ends.length
  if (seen >= total) {
    let sessions = 0
    for (const t of fleet.values()) sessions += sessionCount(t)
    parentPort?.postMessage({ sessions, rejected })
  }
})
