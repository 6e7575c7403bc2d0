// kill-loop: 3 `--ha` nodes, the LAC holding tunnels x sessions while other sessions open and
// close; per trial SIGKILL of whichever node owns the endpoint, the killed node restarted as a
// standby. Per trial: established sessions lost (LAC view), the log's table against the LAC's
// set, and the time from the kill until every tunnel was recovered (RFC 4951).
import { churn, sleep } from '../../test/support/ha-rig.js'
import { type Figures, logVerdict, parseArgs, percentile, report, since, startHa } from './lib.js'

export const killLoop = async (argv: readonly string[]): Promise<void> => {
  const a = parseArgs(argv, { trials: 100, tunnels: 2000, sessions: 8 })
  const ctx = await startHa({
    drill: 'kill-loop',
    nodes: 3,
    tunnels: a.tunnels,
    sessions: a.sessions,
    lnsHost: '127.0.0.130',
    lacHost: '127.0.0.131',
  })
  const rows: Figures[] = []
  const recoveredMs: number[] = []
  try {
    for (let trial = 1; trial <= a.trials; trial++) {
      const stopChurn = churn(ctx.lac, 20)
      await sleep(1500)
      const before = await ctx.owner()
      const victim = before?.node ?? null
      if (victim === null) {
        await stopChurn()
        rows.push({
          trial,
          killed: '-',
          newOwner: '-',
          recoveredMs: -1,
          sessionsLost: 0,
          eventsLost: -1,
          duplicates: -1,
          note: 'no live owner',
        })
        await sleep(5000)
        continue
      }
      const index = ctx.nodes.indexOf(victim)
      const tunnels = [...ctx.lac.ep.engine.tunnels.values()].filter((t) => t.state === 'established').length
      const rec0 = ctx.lac.counts.recovered
      const lost0 = ctx.lac.counts.lost
      const t0 = Date.now()
      process.kill(victim.pid(), 'SIGKILL')
      await victim.exited()
      let ms = -1
      const until = t0 + 120_000
      while (Date.now() < until) {
        if (ctx.lac.counts.recovered - rec0 >= tunnels) {
          ms = since(t0)
          break
        }
        await sleep(20)
      }
      if (ms >= 0) recoveredMs.push(ms)
      await ctx.restart(index)
      await stopChurn()
      const after = await ctx.owner()
      const v = await logVerdict(ctx)
      rows.push({
        trial,
        killed: victim.spec.nodeId,
        newOwner: after?.node?.spec.nodeId ?? '-',
        recoveredMs: ms,
        sessionsLost: ctx.lac.counts.lost - lost0,
        eventsLost: v.eventsLost,
        seqGaps: v.seqGaps,
        tableMismatch: v.tableMismatch,
        duplicates: v.duplicates,
        note: ms < 0 ? `${ctx.lac.counts.recovered - rec0}/${tunnels} recovered in 120 s` : '',
      })
      console.log(JSON.stringify(rows.at(-1)))
      await sleep(2000) // the restarted node stands by
    }
  } finally {
    await ctx.stop()
  }
  const sum = (k: string) =>
    rows.reduce((s, r) => s + (typeof r[k] === 'number' && (r[k] as number) > 0 ? (r[k] as number) : 0), 0)
  report(
    'kill-loop',
    {
      trials: rows.length,
      tunnels: a.tunnels,
      sessionsPerTunnel: a.sessions,
      sessionsLost: sum('sessionsLost'),
      eventsLost: sum('eventsLost'),
      duplicates: sum('duplicates'),
      trialsNotRecovered: rows.filter((r) => r.recoveredMs === -1).length,
      recoveredP50Ms: percentile(recoveredMs, 50),
      recoveredP99Ms: percentile(recoveredMs, 99),
      recoveredMaxMs: percentile(recoveredMs, 100),
    },
    rows,
    ['eventsLost = seq gaps in the log + sessions in the LAC set or the log table only, after churn paused'],
  )
}
