// docs/grafana/l2tp-fleet.json against the real programs: a registry and an --ha node are
// started with --metrics-port, their /metrics scraped, and every metric name in every query of
// the dashboard must be one they export (or `up`, which Prometheus adds per scrape target).
// Every l2tp_* metric they export is on some panel, so a new metric cannot be forgotten.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricNames } from '../../demo/prom.js'
import { freshTopics } from '../support/brokers.js'
import { nodeProcessEnv } from '../support/identity.js'
import { promqlMetricNames } from '../support/promql.js'
import { freePort, httpGet, type Program, spawnProgram, writeConfig } from '../support/spawn.js'

const RUN = Math.random().toString(36).slice(2, 8)

const waitFor = async (what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> => {
  const until = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
const programs: Program[] = []
const exported = new Set<string>()

interface Panel {
  readonly title?: string
  readonly type: string
  readonly targets?: ReadonlyArray<{ readonly expr: string }>
  readonly panels?: readonly Panel[]
}

const dashboard = JSON.parse(readFileSync('docs/grafana/l2tp-fleet.json', 'utf8')) as {
  readonly uid: string
  readonly title: string
  readonly panels: readonly Panel[]
  readonly templating: {
    readonly list: ReadonlyArray<{ readonly name: string; readonly definition?: string }>
  }
}
const queries = (ps: readonly Panel[]): Array<{ panel: string; expr: string }> =>
  ps.flatMap((p) => [
    ...(p.targets ?? []).map((t) => ({ panel: p.title ?? p.type, expr: t.expr })),
    ...queries(p.panels ?? []),
  ])

const scrape = async (port: number, proc: Program) => {
  await waitFor(`/metrics on ${port}`, async () => {
    if (proc.proc.exitCode !== null) throw new Error(`exited: ${proc.stderr()}`)
    return (await httpGet(port, '/metrics').catch(() => ({ status: 0 }))).status === 200
  })
  for (const n of metricNames((await httpGet(port, '/metrics')).body)) exported.add(n)
}

beforeAll(async () => {
  const names = await freshTopics(2)
  const env = { L2TP_TOPIC_PREFIX: names.events.replace('l2tp.events', '') }
  const [rp, np] = [await freePort(), await freePort()]
  const registry = spawnProgram(
    'registry/cli/l2tp-registry.ts',
    ['--metrics-port', String(rp), '--group', `dash-${RUN}`, '--log-level', 'warn'],
    env,
  )
  const endpointId = `dash-${RUN}`
  const file = writeConfig({
    nodeId: `dash-${RUN}`,
    metricsPort: np,
    endpoints: [{ id: endpointId, role: 'LNS', address: { host: '127.0.0.187', port: 1701 } }],
  })
  const node = spawnProgram(
    'nodes/cli/l2tp-node.ts',
    ['--config', file, '--publish', '--ha', '--log-level', 'warn'],
    {
      ...env,
      ...(await nodeProcessEnv(`dash-${RUN}`, [endpointId])),
    },
  )
  programs.push(registry, node)
  await scrape(rp, registry)
  // Serving: the per-endpoint series exist (their names are declared either way).
  await waitFor('the node serving', async () =>
    (await httpGet(np, '/metrics').catch(() => ({ body: '' }))).body.includes(
      `l2tp_endpoint_serving{endpoint="${endpointId}"} 1`,
    ),
  )
  await scrape(np, node)
}, 120_000)

afterAll(() => {
  for (const p of programs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL')
})

describe('the Grafana dashboard (docs/grafana/l2tp-fleet.json)', () => {
  it('is a dashboard Grafana imports: uid, title, panels with Prometheus queries, variables', () => {
    expect(dashboard.uid).toBe('l2tp-fleet')
    expect(dashboard.title).not.toBe('')
    expect(queries(dashboard.panels).length).toBeGreaterThan(20)
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'endpoint'])
  })

  it('queries only metric names the node and the registry really export', () => {
    expect(exported.has('l2tp_sessions')).toBe(true)
    expect(exported.has('l2tp_registry_events_total')).toBe(true)
    const unknown = queries(dashboard.panels).flatMap(({ panel, expr }) =>
      promqlMetricNames(expr)
        .filter((n) => n !== 'up' && !exported.has(n))
        .map((n) => `${panel}: ${n} in ${expr}`),
    )
    expect(unknown).toEqual([])
    const variables = dashboard.templating.list.flatMap((v) =>
      v.definition === undefined ? [] : [/label_values\((\w+)/.exec(v.definition)?.[1] ?? ''],
    )
    expect(variables.filter((n) => n !== 'up' && !exported.has(n))).toEqual([])
  })

  it('shows every l2tp_* metric the programs export', () => {
    const shown = new Set(queries(dashboard.panels).flatMap(({ expr }) => promqlMetricNames(expr)))
    const l2tp = [...exported].filter((n) => n.startsWith('l2tp_'))
    expect(l2tp.filter((n) => !shown.has(n))).toEqual([])
  })
})
