// kafka-broker: 2 `--ha` nodes during churn; kill -9 of the broker leading the endpoint's
// partition of l2tp.events, and separately of the endpoint's transaction coordinator, N times
// each; the broker restarted and back in sync before the next trial. Per trial: events lost or
// applied twice (log folded vs the LAC's set), sessions lost, set-ups during the outage, moves.
import { transactionalIdOf } from '../../contracts/index.js'
import { partitionFor } from '../../registry/shell/index.js'
import {
  killKafka,
  partitionLeader,
  restartKafka,
  transactionCoordinator,
} from '../../test/support/cluster.js'
import { churn, sleep } from '../../test/support/ha-rig.js'
import { type Figures, logVerdict, parseArgs, report, since, startHa } from './lib.js'

const OUTAGE_MS = 10_000

export const kafkaBrokerDrill = async (argv: readonly string[]): Promise<void> => {
  const a = parseArgs(argv, { trials: 10, tunnels: 100, sessions: 8 })
  const ctx = await startHa({
    drill: 'kafka-broker',
    nodes: 2,
    tunnels: a.tunnels,
    sessions: a.sessions,
    lnsHost: '127.0.0.132',
    lacHost: '127.0.0.133',
  })
  const c = ctx.cluster.c
  const rows: Figures[] = []
  try {
    for (const kind of ['partition-leader', 'transaction-coordinator'] as const)
      for (let trial = 1; trial <= a.trials; trial++) {
        const stopChurn = churn(ctx.lac, 20)
        await sleep(1500)
        const before = await ctx.owner()
        const broker =
          kind === 'partition-leader'
            ? await partitionLeader(c, ctx.names.events, partitionFor(ctx.endpointId, 12))
            : await transactionCoordinator(c, transactionalIdOf(ctx.endpointId))
        const up0 = ctx.lac.counts.sessionsUp
        const lost0 = ctx.lac.counts.lost
        await killKafka(c, broker)
        await sleep(OUTAGE_MS)
        const setups = ctx.lac.counts.sessionsUp - up0
        const t1 = Date.now()
        await restartKafka(c, broker)
        const rejoinMs = since(t1)
        await stopChurn()
        const v = await logVerdict(ctx)
        const after = await ctx.owner()
        const lost = ctx.lac.counts.lost - lost0
        const moved = before === null || after === null ? -1 : after.epoch - before.epoch
        rows.push({
          kind,
          trial,
          broker,
          setupsDuringOutage: setups,
          sessionsLost: lost,
          eventsLost: v.eventsLost,
          seqGaps: v.seqGaps,
          tableMismatch: v.tableMismatch,
          duplicates: v.duplicates,
          moves: moved,
          servedThroughout: setups > 0 && lost === 0 && moved === 0,
          rejoinMs,
        })
        console.log(JSON.stringify(rows.at(-1)))
      }
  } finally {
    await ctx.stop()
  }
  const total = (k: string) => rows.reduce((s, r) => s + Math.max(0, Number(r[k])), 0)
  report(
    'kafka-broker',
    {
      trials: rows.length,
      trialsPerKind: a.trials,
      outageMs: OUTAGE_MS,
      sessionsLost: total('sessionsLost'),
      eventsLost: total('eventsLost'),
      duplicates: total('duplicates'),
      moves: total('moves'),
      trialsNotServedThroughout: rows.filter((r) => r.servedThroughout !== true).length,
    },
    rows,
    [
      'eventsLost = seq gaps in the log + sessions in the LAC set or the log table only, after churn paused',
      'duplicates = records of the log with an (epoch, seq) already seen (a fold skips them)',
    ],
  )
}
