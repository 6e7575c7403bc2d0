// The demo's story: configs and identities, the fleet started in order, the LACs' tunnels and
// sessions, the SIGKILL of lns-a's owner, the takeover watched through /metrics, and a summary
// from l2tpctl (endpoints, sessions, fleet, state, timeline). Shell.
import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { topicNames } from '../contracts/index.js'
import { kafkaBrokers, loadInfraConfig } from '../infra/config.js'
import { grant, nodeGrant } from '../infra/identities.js'
import { makeKafka } from '../registry/shell/kafka-client.js'
import { Fleet, freePort, lastLines, type Run, runToEnd } from './fleet.js'
import { type Sample, sampleValue } from './prom.js'
import type { Screen } from './screen.js'
import { type Dashboard, type EndpointRow, type Figures, figureLines, timelineExcerpt } from './view.js'

export interface Names {
  /** Short run id: endpoint and node ids end in it, so runs never share a lease or an identity. */
  readonly tag: string
  /** Kafka topic and NATS subject prefix of the run. */
  readonly prefix: string
  /** NATS subject prefix of the LAC simulators (the peers are not part of the fleet). */
  readonly lacPrefix: string
  /** Loopback /24 of the run's addresses ("127.a.b."). */
  readonly base: string
  readonly dir: string
}

export interface DemoOptions {
  readonly root: string
  readonly names: Names
  readonly env: NodeJS.ProcessEnv
  readonly tunnels: number
  readonly sessions: number
  readonly keep: boolean
  /** --detection-ms for the nodes and the registry (null: their default). */
  readonly detectionMs: number | null
  readonly screen: Screen
}

export interface Demo {
  /** True when every session was preserved and every tunnel recovered under a new epoch. */
  readonly result: Promise<boolean>
  /** Stops every process (graceful, bounded); says what it did. */
  readonly stop: () => Promise<string>
  readonly killNow: () => void
  readonly keepText: () => string
}

class DemoFailure extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const SECRET = 'demo-secret'
const FAILOVER = { control: true, data: true, recoveryTimeMs: 60_000 }
const LNS_NODES = ['node-1', 'node-2', 'node-3'] as const
type LnsNode = (typeof LNS_NODES)[number]
const ENDPOINTS = ['lns-a', 'lns-b'] as const
type Ep = (typeof ENDPOINTS)[number]
const LAC_OF: Record<Ep, 'lac-a' | 'lac-b'> = { 'lns-a': 'lac-a', 'lns-b': 'lac-b' }

export const runDemo = (o: DemoOptions): Demo => {
  const { names: n, screen } = o
  const fleet = new Fleet(o.root, n.dir, o.env)
  const t0 = Date.now()
  const id = (short: string) => `${short}-${n.tag}`
  const short = (full: string) => full.replace(new RegExp(`-${n.tag}$`), '')
  const host: Record<Ep | 'lac-a' | 'lac-b', string> = {
    'lns-a': `${n.base}1`,
    'lns-b': `${n.base}2`,
    'lac-a': `${n.base}11`,
    'lac-b': `${n.base}12`,
  }
  const plan: Record<Ep, number> = {
    'lns-a': Math.ceil(o.tunnels / 2),
    'lns-b': Math.floor(o.tunnels / 2),
  }
  const serves: Record<LnsNode, readonly Ep[]> = {
    'node-1': ['lns-a'],
    'node-2': ['lns-b'],
    'node-3': ['lns-a', 'lns-b'],
  }
  const scrapes = new Map<string, readonly Sample[] | null>()
  const events: string[] = []
  const marks: { kill?: number; lease?: number; serving?: number; recovered?: number; lost?: number } = {}
  const killed = new Set<string>()
  let phase = 'starting'
  const metricsPorts = new Map<string, number>()
  const port = (p: string) => metricsPorts.get(p) ?? 0

  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1)}s`
  const event = (s: string) => {
    const line = `${stamp()}  ${s}`
    events.push(line)
    screen.event(line)
  }
  const ctl = (args: readonly string[], timeoutMs = 30_000, env = o.env): Promise<Run> =>
    runToEnd(o.root, env, 'registry/cli/l2tpctl.ts', args, timeoutMs)
  /** The LACs stand for the peers' equipment: a lab of their own (subject prefix), not our fleet. */
  const lacEnv = { ...o.env, L2TP_SUBJECT_PREFIX: n.lacPrefix }
  const metric = (proc: string, name: string, endpoint: string): number | null => {
    const s = scrapes.get(proc)
    return s === undefined || s === null ? null : sampleValue(s, name, { endpoint })
  }

  const owner = (ep: Ep): LnsNode | null =>
    LNS_NODES.find((node) => fleet.running(node) && metric(node, 'l2tp_endpoint_serving', id(ep)) === 1) ??
    null

  const recoveryText = (ep: Ep): string => {
    const who = owner(ep)
    if (who === null) {
      if (marks.kill === undefined || ep !== 'lns-a') return '-'
      return marks.serving === undefined
        ? 'owner gone: the standby waits out its lease'
        : 'NOBODY SERVES IT: node-3 stopped serving (see its log)'
    }
    const handed = metric(who, 'l2tp_recovery_handed_total', id(ep)) ?? 0
    if (handed === 0) return '-'
    const done = metric(who, 'l2tp_recovery_recovered_total', id(ep)) ?? 0
    const failed = metric(who, 'l2tp_recovery_failed_total', id(ep)) ?? 0
    const queued = metric(who, 'l2tp_recovery_queued', id(ep)) ?? 0
    const all = done + failed >= handed && queued === 0
    return `${all ? 'done: ' : ''}${done}/${handed} recovered${failed > 0 ? `, ${failed} failed` : ''}${queued > 0 ? `, ${queued} queued` : ''}`
  }

  const dashboard = (): Dashboard => {
    const rows: EndpointRow[] = ENDPOINTS.map((ep) => {
      const who = owner(ep)
      const lac = LAC_OF[ep]
      return {
        id: ep,
        owner: who,
        epoch: who === null ? null : metric(who, 'l2tp_endpoint_epoch', id(ep)),
        tunnels: who === null ? null : metric(who, 'l2tp_tunnels', id(ep)),
        sessions: who === null ? null : metric(who, 'l2tp_sessions', id(ep)),
        lacTunnels: metric(lac, 'l2tp_tunnels', id(lac)),
        lacSessions: metric(lac, 'l2tp_sessions', id(lac)),
        recovery: recoveryText(ep),
      }
    })
    const nodes = LNS_NODES.map((node) => {
      if (killed.has(node)) return `${node}: KILLED (SIGKILL)`
      if (!fleet.procs.has(node)) return `${node}: not started`
      if (!fleet.running(node)) return `${node}: exited`
      const s = serves[node].filter((ep) => metric(node, 'l2tp_endpoint_serving', id(ep)) === 1)
      const by = serves[node].filter((ep) => !s.includes(ep))
      return `${node}: ${[s.length > 0 ? `serves ${s.join(', ')}` : '', by.length > 0 ? `stands by for ${by.join(', ')}` : ''].filter(Boolean).join('; ')}`
    })
    const reg = scrapes.get('registry')
    const registry =
      reg === undefined || reg === null
        ? 'registry: -'
        : `registry: ${sampleValue(reg, 'l2tp_registry_events_total') ?? 0} events folded` +
          (registrySays === '' ? '' : `; l2tpctl endpoints: ${registrySays}`)
    return {
      title: `l2tp-registry demo  run ${n.tag}  (${o.tunnels} tunnels x ${o.sessions} sessions; Ctrl-C stops it)`,
      phase,
      rows,
      nodes,
      registry,
      events: events.slice(-8),
    }
  }

  const refresh = async (): Promise<void> => {
    const procs = [...fleet.procs.keys()]
    const got = await Promise.all(procs.map((p) => fleet.scrape(p)))
    procs.forEach((p, i) => {
      scrapes.set(p, got[i] ?? null)
    })
    watchTakeover()
    screen.update(dashboard())
  }

  const watchTakeover = () => {
    if (marks.kill === undefined) return
    const ep = id('lns-a')
    if (marks.lease === undefined && metric('node-3', 'l2tp_lease_held', ep) === 1) {
      marks.lease = Date.now()
      event(`node-3 holds the lease of lns-a (epoch ${metric('node-3', 'l2tp_lease_epoch', ep) ?? '?'})`)
    }
    if (marks.serving === undefined && metric('node-3', 'l2tp_endpoint_serving', ep) === 1) {
      marks.serving = Date.now()
      event(
        `node-3 serves lns-a: ${metric('node-3', 'l2tp_tunnels', ep) ?? '?'} tunnels, ${metric('node-3', 'l2tp_sessions', ep) ?? '?'} sessions rehydrated from Kafka; RFC 4951 recovery under way`,
      )
    }
    if (
      marks.serving !== undefined &&
      marks.lost === undefined &&
      metric('node-3', 'l2tp_endpoint_serving', ep) === 0
    ) {
      marks.lost = Date.now()
      event('node-3 STOPPED serving lns-a after taking it over')
    }
    const lacRecovered = metric('lac-a', 'l2tp_recovery_recovered_total', id('lac-a')) ?? 0
    if (marks.recovered === undefined && lacRecovered >= plan['lns-a']) {
      marks.recovered = Date.now()
      event(`the LAC has recovered all ${lacRecovered} tunnels of lns-a with node-3 (RFC 4951)`)
    }
  }

  /** Polls until `ok()`, redrawing; fails when a process died or the bound passed. */
  const waitFor = async (
    what: string,
    timeoutMs: number,
    ok: () => boolean | Promise<boolean>,
    everyMs = 250,
  ) => {
    const until = Date.now() + timeoutMs
    for (;;) {
      await refresh()
      const dead = fleet.casualty(killed)
      if (dead !== null) throw new DemoFailure(dead)
      if (await ok()) return
      if (Date.now() > until) throw new DemoFailure(`${what}: not within ${Math.round(timeoutMs / 1000)} s`)
      await sleep(everyMs)
    }
  }

  const writeConfig = (name: string, config: unknown): string => {
    const file = join(n.dir, `${name}.json`)
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`)
    return file
  }
  const endpointConfig = (ep: string, role: 'LNS' | 'LAC', address: string) => ({
    id: id(ep),
    role,
    address: { host: address, port: 1701 },
    secrets: [{ ref: 'demo', peerHostName: '*', secret: SECRET }],
    ...(role === 'LNS' ? { challenge: true } : {}),
    receiveWindow: 64,
    failover: FAILOVER,
  })

  const sessionSet = async (lac: 'lac-a' | 'lac-b'): Promise<Set<string>> => {
    const r = await ctl(['sessions', '--endpoint', id(lac), '--ndjson'], 60_000, lacEnv)
    if (r.code !== 0) throw new DemoFailure(`l2tpctl sessions --endpoint ${id(lac)}: ${r.stderr.trim()}`)
    const set = new Set<string>()
    for (const line of r.stdout.split('\n'))
      if (line.trim() !== '') {
        const s = JSON.parse(line) as { localTunnelId: number; localSessionId: number }
        set.add(`${s.localTunnelId}/${s.localSessionId}`)
      }
    return set
  }

  interface Summary {
    readonly endpointId: string
    readonly owner: string | null
    readonly epoch: number
    readonly tunnels: number
    readonly sessions: number
  }
  let registrySays = ''
  const registryEndpoints = async (): Promise<Map<string, Summary>> => {
    const r = await ctl(['endpoints', '--json'])
    const m = new Map<string, Summary>()
    if (r.code !== 0) return m
    try {
      for (const e of JSON.parse(r.stdout) as Summary[]) m.set(short(e.endpointId), e)
    } catch {
      // a reply cut short: asked again by the caller
    }
    registrySays = ENDPOINTS.map((ep) => {
      const e = m.get(ep)
      return e === undefined
        ? `${ep} unknown`
        : `${ep} ${short(e.owner ?? '-')} e${e.epoch} ${e.sessions} sessions`
    }).join(', ')
    return m
  }

  const run = async (): Promise<boolean> => {
    for (const p of ['registry', ...LNS_NODES, 'lac-a', 'lac-b']) metricsPorts.set(p, await freePort())
    phase = 'configs and NATS identities (infra/identity node --config FILE)'
    const files = new Map<string, string>()
    for (const node of LNS_NODES)
      files.set(
        node,
        writeConfig(node, {
          nodeId: id(node),
          metricsPort: port(node),
          endpoints: serves[node].map((ep) => endpointConfig(ep, 'LNS', host[ep])),
        }),
      )
    for (const ep of ENDPOINTS) {
      const lac = LAC_OF[ep]
      files.set(
        lac,
        writeConfig(lac, {
          nodeId: id(lac),
          metricsPort: port(lac),
          endpoints: [endpointConfig(lac, 'LAC', host[lac])],
        }),
      )
    }
    // What `infra/identity node --config FILE` does for each config, in one process.
    for (const node of LNS_NODES) await grant(loadInfraConfig(), nodeGrant(id(node), serves[node].map(id)))
    for (const lac of ['lac-a', 'lac-b']) await grant(loadInfraConfig(), nodeGrant(id(lac), [id(lac)]))
    event(`configs in ${relative(process.cwd(), n.dir)}/, NATS identities granted`)

    phase = 'starting the registry, node-1 (lns-a) and node-2 (lns-b)'
    const detection = o.detectionMs === null ? [] : ['--detection-ms', String(o.detectionMs)]
    fleet.start(
      'registry',
      'registry/cli/l2tp-registry.ts',
      ['--metrics-port', String(port('registry')), '--group', `demo-${n.tag}`],
      port('registry'),
    )
    const lnsArgs = (node: LnsNode) => [
      '--config',
      files.get(node) ?? '',
      '--publish',
      '--ha',
      '--stop-timeout-ms',
      '3000',
      ...detection,
    ]
    for (const node of ['node-1', 'node-2'] as const)
      fleet.start(node, 'nodes/cli/l2tp-node.ts', lnsArgs(node), port(node))
    await waitFor(
      'node-1 and node-2 serving',
      90_000,
      () => owner('lns-a') === 'node-1' && owner('lns-b') === 'node-2',
    )
    event(`node-1 serves lns-a (${host['lns-a']}:1701), node-2 serves lns-b (${host['lns-b']}:1701)`)

    phase = 'starting node-3, the standby for lns-a and lns-b'
    fleet.start('node-3', 'nodes/cli/l2tp-node.ts', lnsArgs('node-3'), port('node-3'))
    await waitFor('node-3 standing by', 90_000, () =>
      ENDPOINTS.every((ep) => metric('node-3', 'l2tp_lease_held', id(ep)) === 0),
    )
    event('node-3 stands by for lns-a and lns-b')

    phase = `the LAC simulators open ${o.tunnels} tunnels x ${o.sessions} sessions (RFC 4951 capable)`
    for (const ep of ENDPOINTS) {
      const lac = LAC_OF[ep]
      fleet.start(
        lac,
        'nodes/cli/l2tp-node.ts',
        [
          '--config',
          files.get(lac) ?? '',
          '--simulate',
          id(lac),
          '--peer',
          host[ep],
          '--tunnels',
          String(plan[ep]),
          '--sessions',
          String(o.sessions),
          '--control',
          '--stop-timeout-ms',
          '3000',
        ],
        port(lac),
        lacEnv,
      )
    }
    const held = (ep: Ep) => ({
      t: metric(LAC_OF[ep], 'l2tp_tunnels', id(LAC_OF[ep])) ?? 0,
      s: metric(LAC_OF[ep], 'l2tp_sessions', id(LAC_OF[ep])) ?? 0,
    })
    await waitFor('the LACs holding every tunnel and session', 90_000 + o.tunnels * o.sessions * 10, () =>
      ENDPOINTS.every((ep) => held(ep).t === plan[ep] && held(ep).s === plan[ep] * o.sessions),
    )
    event(`the LACs hold ${o.tunnels} tunnels and ${o.tunnels * o.sessions} sessions`)

    phase = 'waiting for the registry to fold every event (l2tpctl endpoints)'
    await waitFor(
      'the registry up to date',
      60_000,
      async () => {
        const r = await registryEndpoints()
        return ENDPOINTS.every(
          (ep) => r.get(ep)?.sessions === plan[ep] * o.sessions && r.get(ep)?.tunnels === plan[ep],
        )
      },
      500,
    )
    const beforeReg = await registryEndpoints()
    const before = new Map([
      ['lac-a', await sessionSet('lac-a')],
      ['lac-b', await sessionSet('lac-b')],
    ] as const)
    const sessionsBefore = (before.get('lac-a')?.size ?? 0) + (before.get('lac-b')?.size ?? 0)
    event(
      `registry agrees: lns-a ${beforeReg.get('lns-a')?.sessions} sessions, lns-b ${beforeReg.get('lns-b')?.sessions}`,
    )

    phase = 'FAILOVER: node-1 (owner of lns-a) killed with SIGKILL'
    marks.kill = Date.now()
    killed.add('node-1')
    fleet.kill('node-1', 'SIGKILL')
    event('SIGKILL node-1 (owner of lns-a): no goodbye, no release; its lease must run out')
    await waitFor(
      'node-3 recovering every tunnel of lns-a',
      60_000 + o.tunnels * 50,
      () => {
        if (marks.lost !== undefined && marks.recovered === undefined)
          throw new DemoFailure(
            `node-3 stopped serving lns-a after taking it over: ${lastLines(join(n.dir, 'node-3.log'), 50)
              .filter((l) => l.includes('stopped serving'))
              .map((l) => (JSON.parse(l) as { why?: string }).why ?? l)
              .join('; ')} (log: ${relative(process.cwd(), n.dir)}/node-3.log)`,
          )
        return marks.recovered !== undefined
      },
      100,
    ).catch((e: unknown) => {
      if (e instanceof DemoFailure && marks.lost !== undefined) throw e
      const m = (name: string) => metric('node-3', name, id('lns-a')) ?? 0
      const sent = m('l2tp_sent_total')
      throw new DemoFailure(
        `${e instanceof Error ? e.message : String(e)}: node-3 handed ${m('l2tp_recovery_handed_total')} tunnels to recovery, ` +
          `${m('l2tp_recovery_recovered_total')} recovered, ${m('l2tp_recovery_failed_total')} failed, ${sent} datagrams sent; ` +
          `the LAC recovered ${metric('lac-a', 'l2tp_recovery_recovered_total', id('lac-a')) ?? 0} ` +
          `(logs: ${relative(process.cwd(), n.dir)}/node-3.log, lac-a.log)`,
      )
    })
    phase = 'recovered: waiting for the registry to fold the new epoch'
    await waitFor(
      'the registry seeing node-3 own lns-a',
      60_000,
      async () => {
        const r = (await registryEndpoints()).get('lns-a')
        return r !== undefined && r.owner === id('node-3') && r.sessions === plan['lns-a'] * o.sessions
      },
      500,
    )
    const afterReg = await registryEndpoints()
    const after = new Map([
      ['lac-a', await sessionSet('lac-a')],
      ['lac-b', await sessionSet('lac-b')],
    ] as const)
    const preserved = [...before].reduce(
      (k, [lac, set]) => k + [...set].filter((s) => after.get(lac)?.has(s)).length,
      0,
    )
    const since = (at: number | undefined, from: number | undefined) =>
      at === undefined || from === undefined ? null : (at - from) / 1000
    const figures: Figures = {
      sessionsBefore,
      sessionsAfter: (after.get('lac-a')?.size ?? 0) + (after.get('lac-b')?.size ?? 0),
      sessionsPreserved: preserved,
      killed: 'node-1',
      endpoint: 'lns-a',
      standby: short(afterReg.get('lns-a')?.owner ?? '?'),
      epochBefore: beforeReg.get('lns-a')?.epoch ?? null,
      epochAfter: afterReg.get('lns-a')?.epoch ?? null,
      tunnelsOfEndpoint: plan['lns-a'],
      tunnelsRecovered: metric('lac-a', 'l2tp_recovery_recovered_total', id('lac-a')) ?? 0,
      detectionS: since(marks.lease, marks.kill),
      rehydrationS: since(marks.serving, marks.lease),
      recoveryS: since(marks.recovered, marks.kill),
    }
    phase = 'done'
    await refresh()
    screen.freeze()
    await summary(figures)
    return (
      figures.sessionsPreserved === figures.sessionsBefore &&
      figures.tunnelsRecovered >= figures.tunnelsOfEndpoint &&
      (figures.epochAfter ?? 0) > (figures.epochBefore ?? 0)
    )
  }

  const env = `L2TP_TOPIC_PREFIX=${n.prefix} L2TP_SUBJECT_PREFIX=${n.prefix}`
  const cmd = (args: string) => `${env} npm run -s l2tpctl -- ${args}`

  const summary = async (f: Figures) => {
    const out: string[] = [
      '',
      `== summary (run ${n.tag}: every id ends in -${n.tag}) ==`,
      ...figureLines(f),
      '',
    ]
    const fleetView = await ctl(['fleet'])
    out.push(`fleet view from the registry and the live nodes ($ ${cmd('fleet')}):`)
    out.push(
      ...(fleetView.stdout + fleetView.stderr)
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
    )
    const state = await ctl(['state', '--endpoint', id('lns-a'), '--ndjson', '--limit', '2'])
    const tunnel = state.stdout
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l) as { kind?: string; tunnel?: { localTunnelId?: number } }
        } catch {
          return {}
        }
      })
      .find((r) => r.kind === 'tunnel')?.tunnel?.localTunnelId
    if (tunnel !== undefined) {
      const args = ['timeline', '--tunnel', `${id('lns-a')}/${tunnel}`]
      let tl = await ctl(args)
      for (let i = 0; i < 20 && !/SessionsReconciled|TunnelRecovered/.test(tl.stdout); i++) {
        await sleep(500)
        tl = await ctl(args)
      }
      out.push('')
      out.push(`forensic timeline of recovered tunnel ${tunnel} of lns-a ($ ${cmd(args.join(' '))}):`)
      out.push(...timelineExcerpt(tl.stdout.trimEnd().split('\n')).map((l) => `  ${l}`))
      out.push('  (TIME  @partition-offset  e<epoch>#<seq>  event: epoch 1 is node-1, the next epoch node-3)')
    } else out.push(`no tunnel of lns-a found in the registry: ${state.stderr.trim()}`)
    out.push('')
    for (const l of out) screen.line(l || ' ')
  }

  const result = run().catch((e: unknown) => {
    screen.freeze()
    screen.line(`demo failed: ${e instanceof Error ? e.message : String(e)}`)
    return false
  })

  return {
    result,
    killNow: () => {
      for (const p of fleet.procs.keys()) fleet.kill(p, 'SIGKILL')
    },
    stop: async () => {
      const count = [...fleet.procs.keys()].filter((p) => fleet.running(p)).length
      await fleet.stop([['lac-a', 'lac-b'], [...LNS_NODES], ['registry']], 8000)
      const deleted = await deleteTopics(o.env, n.prefix, `demo-${n.tag}`)
      return `stopped the ${count} processes still running (pids in ${relative(process.cwd(), join(n.dir, 'pids'))}); ${deleted}`
    },
    keepText: () =>
      [
        `The fleet keeps running (--keep). Explore it (logs in ${relative(process.cwd(), n.dir)}/):`,
        `  export ${env}`,
        '  npm run -s l2tpctl -- nodes',
        '  npm run -s l2tpctl -- fleet',
        `  npm run -s l2tpctl -- tunnels --endpoint ${id('lns-a')} --limit 5`,
        `  npm run -s l2tpctl -- release --endpoint ${id('lns-b')}      # planned switchover: node-3 takes lns-b`,
        `  curl -s 127.0.0.1:${port('node-3')}/metrics | grep ^l2tp_`,
        'Stop it:',
        `  kill $(cut -d' ' -f1 ${relative(process.cwd(), join(n.dir, 'pids'))}) 2>/dev/null`,
        `  (its Kafka topics ${n.prefix}l2tp.* stay, for export and diff; they are small)`,
      ].join('\n'),
  }
}

/** The run's topics and consumer group, deleted (nothing of the demo stays in a shared Kafka). */
const deleteTopics = async (env: NodeJS.ProcessEnv, prefix: string, group: string): Promise<string> => {
  const brokers = env.KAFKA_BROKERS === undefined ? kafkaBrokers() : env.KAFKA_BROKERS.split(',')
  const admin = makeKafka({ brokers, clientId: 'l2tp-demo' }).admin()
  try {
    await admin.connect()
    const t = topicNames(prefix)
    await admin.deleteTopics({ topics: [t.events, t.snapshots, t.dead], timeout: 10_000 })
    await admin.deleteGroups([group]).catch(() => undefined)
    return `topics ${prefix}* deleted`
  } catch (e) {
    return `topics ${prefix}* not deleted: ${e instanceof Error ? e.message : String(e)}`
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}
