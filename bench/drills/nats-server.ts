// nats-server: 2 `--ha` nodes during churn. (a) kill -9 of the nats-server leading the lease
// bucket, N times: 0 endpoint moves, 0 sessions lost. (b) the whole NATS cluster unreachable
// (SIGSTOP of all three) for half the detection time: 0 moves. (c) the whole cluster down
// (kill -9 of all three, restarted after 2.5 x detection): exactly one clean takeover, never two
// owners sending (every UDP send of both processes traced with strace).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_LEASE } from '../../nodes/shell/lease.js'
import { killNats, leaseLeaderId, restartNats, signalNats } from '../../test/support/cluster.js'
import { churn, type HaNode, sleep, tracedSends } from '../../test/support/ha-rig.js'
import { type Figures, type HaContext, logVerdict, parseArgs, report, since, startHa } from './lib.js'

const DETECTION = DEFAULT_LEASE.detectionMs

/** Datagrams the old owner sent after the new owner's first one (both traced). */
const overlap = (
  ctx: HaContext,
  old: HaNode | null,
  from: number,
): { overlapping: number; gapMs: number } => {
  const others = ctx.nodes.filter((n) => n !== old)
  const firstNew = Math.min(
    ...others.flatMap((n) => tracedSends(n.spec.traceSends ?? '', ctx.lacHost).filter((t) => t >= from)),
  )
  if (old === null || !Number.isFinite(firstNew)) return { overlapping: 0, gapMs: -1 }
  const oldSends = tracedSends(old.spec.traceSends ?? '', ctx.lacHost).filter((t) => t >= from)
  const lastOld = Math.max(...oldSends.filter((t) => t < firstNew), from)
  return { overlapping: oldSends.filter((t) => t >= firstNew).length, gapMs: Math.round(firstNew - lastOld) }
}

export const natsServerDrill = async (argv: readonly string[]): Promise<void> => {
  const a = parseArgs(argv, { trials: 10, tunnels: 100, sessions: 8 })
  const traces = mkdtempSync(join(tmpdir(), 'drill-nats-traces-'))
  const ctx = await startHa({
    drill: 'nats-server',
    nodes: 2,
    tunnels: a.tunnels,
    sessions: a.sessions,
    lnsHost: '127.0.0.134',
    lacHost: '127.0.0.135',
    spec: (_, nodeId) => ({ traceSends: join(traces, `${nodeId}.trace`) }),
  })
  const c = ctx.cluster.c
  const rows: Figures[] = []
  const trial = async (kind: string, n: number, fault: () => Promise<number>) => {
    const stopChurn = churn(ctx.lac, 20)
    await sleep(1500)
    const before = await ctx.owner()
    const lost0 = ctx.lac.counts.lost
    const from = Date.now()
    const downMs = await fault()
    await sleep(2 * DETECTION)
    await stopChurn()
    const after = await ctx.owner()
    const v = await logVerdict(ctx)
    const o = overlap(ctx, before?.node ?? null, from)
    rows.push({
      kind,
      trial: n,
      downMs,
      moves: before === null || after === null ? -1 : after.epoch - before.epoch,
      owner: `${before?.node?.spec.nodeId ?? '-'}>${after?.node?.spec.nodeId ?? '-'}`,
      sessionsLost: ctx.lac.counts.lost - lost0,
      eventsLost: v.eventsLost,
      seqGaps: v.seqGaps,
      tableMismatch: v.tableMismatch,
      duplicates: v.duplicates,
      overlappingDatagrams: o.overlapping,
      silenceAtMoveMs: o.gapMs,
    })
    console.log(JSON.stringify(rows.at(-1)))
  }
  const all = c.natsServers.map((s) => s.id)
  try {
    for (let i = 1; i <= a.trials; i++)
      await trial('lease-leader-killed', i, async () => {
        const id = await leaseLeaderId(c)
        const t0 = Date.now()
        await killNats(c, id)
        await sleep(2 * DETECTION)
        await restartNats(c, id)
        return since(t0)
      })
    for (let i = 1; i <= Math.min(3, a.trials); i++)
      await trial('cluster-away-short', i, async () => {
        const t0 = Date.now()
        for (const id of all) signalNats(c, id, 'SIGSTOP')
        await sleep(DETECTION / 2)
        for (const id of all) signalNats(c, id, 'SIGCONT')
        return since(t0)
      })
    for (let i = 1; i <= Math.min(3, a.trials); i++)
      await trial('cluster-down-long', i, async () => {
        const t0 = Date.now()
        for (const id of all) await killNats(c, id)
        await sleep(2.5 * DETECTION)
        await Promise.all(all.map((id) => restartNats(c, id, 120_000)))
        return since(t0)
      })
  } finally {
    for (const id of all) {
      try {
        signalNats(c, id, 'SIGCONT')
      } catch {
        await restartNats(c, id).catch(() => undefined)
      }
    }
    await ctx.stop()
  }
  const of = (kind: string) => rows.filter((r) => r.kind === kind)
  const total = (rs: readonly Figures[], k: string) => rs.reduce((s, r) => s + Math.max(0, Number(r[k])), 0)
  report(
    'nats-server',
    {
      trials: rows.length,
      detectionMs: DETECTION,
      sessionsLost: total(rows, 'sessionsLost'),
      eventsLost: total(rows, 'eventsLost'),
      duplicates: total(rows, 'duplicates'),
      leaderKilledMoves: total(of('lease-leader-killed'), 'moves'),
      shortOutageMoves: total(of('cluster-away-short'), 'moves'),
      longOutageTrialsWithExactlyOneMove: of('cluster-down-long').filter((r) => r.moves === 1).length,
      longOutageTrials: of('cluster-down-long').length,
      overlappingDatagrams: total(rows, 'overlappingDatagrams'),
    },
    rows,
    [
      'moves = lease epoch after - before; overlappingDatagrams = UDP sends of the old owner after the first send of another node (strace of both)',
      'cluster-away-short stops the three servers (SIGSTOP) rather than killing them: a JetStream cluster restarted from nothing takes longer than the detection time to elect',
    ],
  )
}
