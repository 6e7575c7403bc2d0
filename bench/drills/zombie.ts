// zombie: 2 `--ha` nodes during churn; SIGSTOP of the owner for a random pause from 0.5x to 2x
// the detection time, then SIGCONT. Per trial: events of an old epoch accepted after a newer one
// (the log), UDP datagrams a replaced node sent after it resumed (every send of both processes
// traced with strace), and whether the endpoint is served at the end.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_LEASE } from '../../nodes/shell/lease.js'
import { churn, serving, signalNode, sleep, tracedSends } from '../../test/support/ha-rig.js'
import { type Figures, logVerdict, parseArgs, report, startHa } from './lib.js'

const DETECTION = DEFAULT_LEASE.detectionMs

export const zombieDrill = async (argv: readonly string[]): Promise<void> => {
  const a = parseArgs(argv, { trials: 50, tunnels: 100, sessions: 8 })
  const traces = mkdtempSync(join(tmpdir(), 'drill-zombie-traces-'))
  const ctx = await startHa({
    drill: 'zombie',
    nodes: 2,
    tunnels: a.tunnels,
    sessions: a.sessions,
    lnsHost: '127.0.0.136',
    lacHost: '127.0.0.137',
    spec: (_, nodeId) => ({ traceSends: join(traces, `${nodeId}.trace`) }),
  })
  const rows: Figures[] = []
  try {
    for (let trial = 1; trial <= a.trials; trial++) {
      const stopChurn = churn(ctx.lac, 20)
      await sleep(1500)
      const before = await ctx.owner()
      const zombie = before?.node ?? null
      if (zombie === null) {
        await stopChurn()
        rows.push({
          trial,
          pauseMs: 0,
          replaced: '-',
          sentAfterResume: -1,
          staleEpochAccepted: -1,
          sessionsLost: 0,
          eventsLost: -1,
          servedAtEnd: false,
        })
        await sleep(3000)
        continue
      }
      const pauseMs = Math.round(DETECTION * (0.5 + 1.5 * Math.random()))
      const lost0 = ctx.lac.counts.lost
      signalNode(zombie, 'SIGSTOP')
      await sleep(pauseMs)
      const resumed = Date.now()
      signalNode(zombie, 'SIGCONT')
      await sleep(2 * DETECTION)
      await stopChurn()
      const after = await ctx.owner()
      const replaced = before !== null && after !== null && after.epoch > before.epoch
      const v = await logVerdict(ctx)
      const sent = tracedSends(zombie.spec.traceSends ?? '', ctx.lacHost).filter((t) => t >= resumed).length
      rows.push({
        trial,
        pauseMs,
        replaced,
        sentAfterResume: replaced ? sent : 0,
        staleEpochAccepted: v.staleEpochRecords,
        sessionsLost: ctx.lac.counts.lost - lost0,
        eventsLost: v.eventsLost,
        seqGaps: v.seqGaps,
        tableMismatch: v.tableMismatch,
        duplicates: v.duplicates,
        servedAtEnd: after?.node !== null && after?.node !== undefined && serving(after.node),
      })
      console.log(JSON.stringify(rows.at(-1)))
    }
  } finally {
    await ctx.stop()
  }
  const total = (k: string) => rows.reduce((s, r) => s + Math.max(0, Number(r[k])), 0)
  report(
    'zombie',
    {
      trials: rows.length,
      detectionMs: DETECTION,
      replacedTrials: rows.filter((r) => r.replaced === true).length,
      staleEpochAccepted: total('staleEpochAccepted'),
      sentByReplacedAfterResume: total('sentAfterResume'),
      sessionsLost: total('sessionsLost'),
      eventsLost: total('eventsLost'),
      duplicates: total('duplicates'),
      trialsNotServedAtEnd: rows.filter((r) => r.servedAtEnd !== true).length,
    },
    rows,
    [
      'sentAfterResume counts UDP sends to the LAC by the paused node after SIGCONT, when it had been replaced (strace)',
      'staleEpochAccepted = log records of an epoch older than one before them in the log',
    ],
  )
}
