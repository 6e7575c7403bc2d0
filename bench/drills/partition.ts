// partition: 2 `--ha` nodes, each reaching NATS and Kafka only through a proxy of its own that the
// drill can cut (test/support/cut-proxy.ts; why proxies and not namespaces: docs/drills.md).
// (a) the owner loses NATS only: it must stop sending before the standby serves (every UDP send
// of both processes traced with strace: 0 overlapping datagrams). (b) the owner loses Kafka only
// for 10 s during churn: it keeps serving from its outbox, nothing is lost after the heal.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadInfraConfig } from '../../infra/config.js'
import { cutListener } from '../../infra/kafka.js'
import { DEFAULT_LEASE } from '../../nodes/shell/lease.js'
import { type CutProxy, startCutProxy } from '../../test/support/cut-proxy.js'
import { churn, type HaNode, serving, sleep, tracedSends } from '../../test/support/ha-rig.js'
import { type Figures, logVerdict, parseArgs, report, startHa } from './lib.js'

const DETECTION = DEFAULT_LEASE.detectionMs
const KAFKA_CUT_MS = 10_000

export const partitionDrill = async (argv: readonly string[]): Promise<void> => {
  const a = parseArgs(argv, { trials: 5, tunnels: 100, sessions: 8 })
  process.env.L2TP_CLUSTER = '1'
  const c = loadInfraConfig()
  const traces = mkdtempSync(join(tmpdir(), 'drill-partition-traces-'))
  const proxies: Array<{ nats: CutProxy; kafka: CutProxy }> = []
  const natsPort = (k: number, i: number) => c.natsPort + 100 + 10 * k + i
  for (let k = 1; k <= 2; k++)
    proxies.push({
      nats: await startCutProxy(c.natsServers.map((s) => ({ listen: natsPort(k, s.id), target: s.port }))),
      kafka: await startCutProxy(
        c.kafkaNodes.map((n) => ({
          listen: cutListener(c, n, k).proxy,
          target: cutListener(c, n, k).listen,
        })),
      ),
    })
  const ctx = await startHa({
    drill: 'partition',
    nodes: 2,
    tunnels: a.tunnels,
    sessions: a.sessions,
    lnsHost: '127.0.0.140',
    lacHost: '127.0.0.141',
    spec: (i, nodeId) => ({
      traceSends: join(traces, `${nodeId}.trace`),
      env: {
        NATS_URL: c.natsServers.map((s) => `nats://127.0.0.1:${natsPort(i + 1, s.id)}`).join(','),
        KAFKA_BROKERS: c.kafkaNodes.map((n) => `127.0.0.1:${cutListener(c, n, i + 1).proxy}`).join(','),
      },
    }),
  })
  const proxyOf = (n: HaNode) => proxies[ctx.nodes.indexOf(n)] as { nats: CutProxy; kafka: CutProxy }
  const rows: Figures[] = []
  try {
    for (let trial = 1; trial <= a.trials; trial++) {
      // (a) the owner loses NATS only.
      {
        const stopChurn = churn(ctx.lac, 20)
        await sleep(1500)
        const before = await ctx.owner()
        const owner = before?.node ?? null
        if (owner === null) throw new Error('no live owner')
        const other = ctx.nodes.find((n) => n !== owner) as HaNode
        const from = Date.now()
        const lost0 = ctx.lac.counts.lost
        proxyOf(owner).nats.cut()
        const until = from + 6 * DETECTION
        while (!serving(other) && Date.now() < until) await sleep(50)
        await sleep(DETECTION)
        proxyOf(owner).nats.heal()
        await sleep(2 * DETECTION)
        await stopChurn()
        const stoppedAt = owner.marks.find((m) => m.at >= from && m.msg !== 'serving endpoint')?.at ?? null
        const servingAt = other.marks.find((m) => m.at >= from && m.msg === 'serving endpoint')?.at ?? null
        const newSends = tracedSends(other.spec.traceSends ?? '', ctx.lacHost).filter((t) => t >= from)
        const firstNew = newSends.length === 0 ? null : Math.min(...newSends)
        const oldSends = tracedSends(owner.spec.traceSends ?? '', ctx.lacHost).filter((t) => t >= from)
        const overlapping = firstNew === null ? 0 : oldSends.filter((t) => t >= firstNew).length
        const lastOld = oldSends.filter((t) => firstNew === null || t < firstNew).at(-1) ?? null
        const v = await logVerdict(ctx)
        const after = await ctx.owner()
        rows.push({
          kind: 'owner-loses-nats',
          trial,
          moves: before === null || after === null ? -1 : after.epoch - before.epoch,
          ownerStoppedMs: stoppedAt === null ? -1 : stoppedAt - from,
          standbyServingMs: servingAt === null ? -1 : servingAt - from,
          stoppedBeforeClaim: stoppedAt !== null && (servingAt === null || stoppedAt < servingAt),
          overlappingDatagrams: overlapping,
          silenceMs: firstNew === null || lastOld === null ? -1 : Math.round(firstNew - lastOld),
          sessionsLost: ctx.lac.counts.lost - lost0,
          eventsLost: v.eventsLost,
          seqGaps: v.seqGaps,
          tableMismatch: v.tableMismatch,
          duplicates: v.duplicates,
        })
        console.log(JSON.stringify(rows.at(-1)))
      }
      // (b) the owner loses Kafka only.
      {
        const stopChurn = churn(ctx.lac, 20)
        await sleep(1500)
        const before = await ctx.owner()
        const owner = before?.node ?? null
        if (owner === null) throw new Error('no live owner')
        const lost0 = ctx.lac.counts.lost
        const up0 = ctx.lac.counts.sessionsUp
        proxyOf(owner).kafka.cut()
        await sleep(KAFKA_CUT_MS)
        const setups = ctx.lac.counts.sessionsUp - up0
        proxyOf(owner).kafka.heal()
        await sleep(2000)
        await stopChurn()
        const v = await logVerdict(ctx, 120_000)
        const after = await ctx.owner()
        rows.push({
          kind: 'owner-loses-kafka',
          trial,
          moves: before === null || after === null ? -1 : after.epoch - before.epoch,
          ownerStoppedMs: -1,
          standbyServingMs: -1,
          stoppedBeforeClaim: '-',
          overlappingDatagrams: 0,
          silenceMs: -1,
          setupsDuringCut: setups,
          sessionsLost: ctx.lac.counts.lost - lost0,
          eventsLost: v.eventsLost,
          seqGaps: v.seqGaps,
          tableMismatch: v.tableMismatch,
          duplicates: v.duplicates,
        })
        console.log(JSON.stringify(rows.at(-1)))
      }
    }
  } finally {
    for (const p of proxies) {
      p.nats.heal()
      p.kafka.heal()
    }
    await ctx.stop()
    for (const p of proxies) {
      await p.nats.close()
      await p.kafka.close()
    }
  }
  const of = (kind: string) => rows.filter((r) => r.kind === kind)
  const total = (rs: readonly Figures[], k: string) => rs.reduce((s, r) => s + Math.max(0, Number(r[k])), 0)
  report(
    'partition',
    {
      trials: a.trials,
      detectionMs: DETECTION,
      kafkaCutMs: KAFKA_CUT_MS,
      sessionsLost: total(rows, 'sessionsLost'),
      eventsLost: total(rows, 'eventsLost'),
      duplicates: total(rows, 'duplicates'),
      natsCutStoppedBeforeClaim: of('owner-loses-nats').filter((r) => r.stoppedBeforeClaim === true).length,
      natsCutOverlappingDatagrams: total(of('owner-loses-nats'), 'overlappingDatagrams'),
      kafkaCutMoves: total(of('owner-loses-kafka'), 'moves'),
      kafkaCutEventsLost: total(of('owner-loses-kafka'), 'eventsLost'),
    },
    rows,
    [
      'overlappingDatagrams = UDP sends of the cut owner after the first send of the new owner (strace of both processes)',
      'rows of one trial differ in columns: owner-loses-kafka adds setupsDuringCut',
    ],
  )
}
