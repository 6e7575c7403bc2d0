// Drill plumbing: flags, the clustered infra, N `l2tp-node --ha` processes owning one endpoint
// with our LAC holding tunnels toward it, the owner by the lease, per-trial loss accounting, the
// table and bench/results/drill-NAME.json. Drills measure and report; they do not assert.
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TopicNames, topicNames } from '../../contracts/index.js'
import { ensureTopics } from '../../registry/shell/index.js'
import { type Cluster, useCluster } from '../../test/support/cluster.js'
import {
  type HaNode,
  type HaNodeSpec,
  hold,
  type Lac,
  leaseReader,
  serving,
  settle,
  sleep,
  startHaNode,
  startLac,
} from '../../test/support/ha-rig.js'
import { resultsDir } from '../lib.js'

export interface DrillArgs {
  readonly trials: number
  readonly tunnels: number
  readonly sessions: number
}

/** `--trials N`, `--tunnels N`, `--sessions M` over the drill's defaults. */
export const parseArgs = (argv: readonly string[], defaults: DrillArgs): DrillArgs => {
  const out: Record<string, number> = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]?.replace(/^--/, '') ?? ''
    const v = Number(argv[i + 1])
    if (!(k in defaults) || !Number.isInteger(v) || v < 1)
      throw new Error(
        `unknown or bad flag '${argv[i]} ${argv[i + 1] ?? ''}' (--trials N, --tunnels N, --sessions M)`,
      )
    out[k] = v
    i++
  }
  return {
    trials: out.trials ?? defaults.trials,
    tunnels: out.tunnels ?? defaults.tunnels,
    sessions: out.sessions ?? defaults.sessions,
  }
}

export const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return -1
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? -1
}

export type Figures = Record<string, number | string | boolean | null>

/** Prints the summary and one row per trial; writes bench/results/drill-NAME.json. */
export const report = (
  name: string,
  summary: Figures,
  trials: readonly Figures[],
  notes: readonly string[] = [],
): string => {
  const w = Math.max(...Object.keys(summary).map((k) => k.length))
  console.log(`\ndrill ${name}`)
  for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(w)}  ${String(v)}`)
  if (trials.length > 0) {
    const cols = Object.keys(trials[0] ?? {})
    const width = cols.map((c) => Math.max(c.length, ...trials.map((t) => String(t[c]).length)))
    console.log(`\n  ${cols.map((c, i) => c.padStart(width[i] ?? 0)).join('  ')}`)
    for (const t of trials)
      console.log(`  ${cols.map((c, i) => String(t[c]).padStart(width[i] ?? 0)).join('  ')}`)
  }
  const all = [
    ...notes,
    'tableMismatch is the difference at the end of a trial: a mismatch not healed carries into the next rows, and the summary sums rows',
  ]
  for (const n of all) console.log(`  note: ${n}`)
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `drill-${name}.json`)
  writeFileSync(
    file,
    `${JSON.stringify({ drill: name, ...summary, notes: all, perTrial: trials }, null, 2)}\n`,
  )
  console.log(`\nwrote ${file}`)
  return file
}

export interface HaContext {
  readonly cluster: Cluster
  readonly names: TopicNames
  readonly dir: string
  readonly endpointId: string
  readonly host: string
  readonly lacHost: string
  readonly nodes: HaNode[]
  readonly lac: Lac
  /** The node the lease names (null: none, or a node not of this drill). */
  readonly owner: () => Promise<{ node: HaNode | null; epoch: number } | null>
  /** Starts node `i` again (same id and spec) as a standby. */
  readonly restart: (i: number) => Promise<HaNode>
  readonly stop: () => Promise<void>
}

export interface HaOptions {
  readonly drill: string
  readonly nodes: number
  readonly tunnels: number
  readonly sessions: number
  readonly lnsHost: string
  readonly lacHost: string
  /** Per node: extra spec (env through a proxy, traced sends). */
  readonly spec?: (i: number, nodeId: string) => Partial<HaNodeSpec>
}

const waitUntil = async (what: string, cond: () => boolean, ms: number) => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** The cluster, fresh topics, the nodes (the first owns), the LAC holding tunnels x sessions. */
export const startHa = async (o: HaOptions): Promise<HaContext> => {
  const cluster = await useCluster()
  const prefix = `drill${randomUUID().slice(0, 6)}.`
  const names = topicNames(prefix)
  await ensureTopics({ brokers: cluster.brokers, names })
  const dir = mkdtempSync(join(tmpdir(), `drill-${o.drill}-`))
  const endpointId = `drill-${o.drill}-${randomUUID().slice(0, 6)}`
  const specs: HaNodeSpec[] = Array.from({ length: o.nodes }, (_, i) => {
    const nodeId = `${o.drill}-${i + 1}`
    return { dir, nodeId, endpointId, host: o.lnsHost, names, ...(o.spec?.(i, nodeId) ?? {}) }
  })
  const nodes: HaNode[] = []
  for (const [i, s] of specs.entries()) {
    const n = await startHaNode(s)
    nodes.push(n)
    if (i === 0) await waitUntil('the first node serving', () => serving(n), 120_000)
  }
  await sleep(3000) // the standbys bind to the lease and wait
  const lac = await startLac(o.lacHost)
  await hold(lac, o.lnsHost, o.tunnels, o.sessions, 600_000)
  const lease = await leaseReader()
  return {
    cluster,
    names,
    dir,
    endpointId,
    host: o.lnsHost,
    lacHost: o.lacHost,
    nodes,
    lac,
    owner: async () => {
      const v = await lease.owner(endpointId)
      if (v === null) return null
      return { node: nodes.find((n) => n.spec.nodeId === v.node && n.alive()) ?? null, epoch: v.epoch }
    },
    restart: async (i) => {
      const s = specs[i]
      if (s === undefined) throw new Error(`no node ${i}`)
      const n = await startHaNode(s)
      nodes[i] = n
      return n
    },
    stop: async () => {
      await lac.stop()
      for (const n of nodes)
        if (n.alive()) {
          try {
            process.kill(n.pid(), 'SIGCONT')
            process.kill(n.pid(), 'SIGKILL')
          } catch {
            // gone
          }
          await n.exited()
        }
      await lease.close()
      await cluster.stop()
    },
  }
}

/**
 * The check at the end of a trial, churn paused: the log (folded by the registry's code) against
 * the LAC's established sessions. eventsLost counts seq gaps plus sessions on one side only.
 */
export const logVerdict = async (ctx: HaContext, settleMs = 60_000) => {
  const { log, mismatch, onlyInLog, onlyAtLac } = await settle(ctx.names, ctx.endpointId, ctx.lac, settleMs)
  return {
    eventsLost: log.seqGaps + mismatch,
    seqGaps: log.seqGaps,
    tableMismatch: mismatch,
    ...(mismatch === 0 ? {} : { onlyInLog: onlyInLog.join(' '), onlyAtLac: onlyAtLac.join(' ') }),
    duplicates: log.duplicates,
    epochs: log.epochs.length,
    staleEpochRecords: log.staleEpochRecords,
    logOwner: log.owner,
  }
}

export const since = (t0: number): number => Date.now() - t0
