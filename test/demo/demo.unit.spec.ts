// The demo's pure parts: Prometheus text read, dashboard lines, the pipe's progress line, the
// timeline excerpt, the summary figures, what `infra/up --cluster` prints, README walkthrough.
import { describe, expect, it } from 'vitest'
import { parseClusterUp } from '../../demo/brokers.js'
import { metricNames, parseMetrics, sampleValue } from '../../demo/prom.js'
import {
  type Dashboard,
  figureLines,
  progressLine,
  renderDashboard,
  timelineExcerpt,
} from '../../demo/view.js'
import { walkthroughScript } from '../support/walkthrough.js'

const SCRAPE = `# HELP l2tp_sessions Established sessions in the node table
# TYPE l2tp_sessions gauge
l2tp_sessions{endpoint="lns-a-1x2"} 1500
l2tp_sessions{endpoint="lns-b-1x2"} 7
# TYPE l2tp_refused_total counter
# TYPE nodejs_gc_duration_seconds histogram
nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3
l2tp_refusing{endpoint="a",reason="drain"} 0
garbage line
`

const board = (over: Partial<Dashboard> = {}): Dashboard => ({
  title: 'demo',
  phase: 'FAILOVER',
  rows: [
    {
      id: 'lns-a',
      owner: null,
      epoch: null,
      tunnels: null,
      sessions: null,
      lacTunnels: 150,
      lacSessions: 1500,
      recovery: 'owner gone: the standby waits out its lease',
    },
    {
      id: 'lns-b',
      owner: 'node-2',
      epoch: 1,
      tunnels: 150,
      sessions: 1500,
      lacTunnels: 150,
      lacSessions: 1500,
      recovery: '-',
    },
  ],
  nodes: ['node-1: KILLED (SIGKILL)'],
  registry: 'registry: 3302 events folded',
  events: ['+1.0s  one'],
  ...over,
})

describe('demo/prom', () => {
  it('reads samples with their labels and skips what is not a sample', () => {
    const s = parseMetrics(SCRAPE)
    expect(sampleValue(s, 'l2tp_sessions', { endpoint: 'lns-b-1x2' })).toBe(7)
    expect(sampleValue(s, 'l2tp_sessions', { endpoint: 'nope' })).toBeNull()
    expect(sampleValue(s, 'l2tp_refusing', { reason: 'drain' })).toBe(0)
    expect(s.some((x) => x.name === 'garbage')).toBe(false)
  })

  it('names declared metrics without samples, and the series of a histogram', () => {
    const n = metricNames(SCRAPE)
    expect(n.has('l2tp_refused_total')).toBe(true)
    expect(n.has('nodejs_gc_duration_seconds_count')).toBe(true)
    expect(n.has('garbage')).toBe(false)
  })
})

describe('demo/view', () => {
  it('draws every line within the width (a wrapped line would break the redraw)', () => {
    const lines = renderDashboard(board({ title: 'x'.repeat(300) }), 60)
    expect(lines.every((l) => l.length <= 60)).toBe(true)
    expect(lines[0]).toMatch(/…$/)
    const wide = renderDashboard(board(), 200)
    expect(wide.join('\n')).toContain('owner gone: the standby waits out its lease')
    expect(wide.find((l) => l.startsWith('lns-b'))).toMatch(
      /^lns-b\s+node-2\s+1\s+150\s+1500\s+150 \/ 1500\s+-$/,
    )
  })

  it('says an endpoint with no owner in the pipe line', () => {
    expect(progressLine(board())).toBe(
      'lns-a: no owner (owner gone: the standby waits out its lease) | lns-b: node-2 epoch 1, 150 tunnels 1500 sessions | registry: 3302 events folded',
    )
  })

  it('folds runs of session set-ups in a timeline and keeps the rest', () => {
    const ex = timelineExcerpt([
      'T  @4  e1#3  TunnelEstablished',
      'T  @5  e1#4  SessionEstablished',
      'T  @6  e1#5  SessionEstablished',
      'T  @9  e2#2  TunnelRecoveryStarted',
      'T  @10  e2#3  TunnelRecovered',
    ])
    expect(ex).toEqual([
      'T  @4  e1#3  TunnelEstablished',
      '  ... 2 x SessionEstablished',
      'T  @9  e2#2  TunnelRecoveryStarted',
      'T  @10  e2#3  TunnelRecovered',
    ])
  })

  it('says how many sessions were lost when not all were preserved', () => {
    const f = {
      sessionsBefore: 100,
      sessionsAfter: 98,
      sessionsPreserved: 97,
      killed: 'node-1',
      endpoint: 'lns-a',
      standby: 'node-3',
      epochBefore: 1,
      epochAfter: 2,
      tunnelsOfEndpoint: 10,
      tunnelsRecovered: 9,
      detectionS: 3.04,
      rehydrationS: null,
      recoveryS: null,
    }
    const text = figureLines(f).join('\n')
    expect(text).toMatch(/sessions preserved\s+97 of 100 \(3 LOST\)/)
    expect(text).toMatch(/rehydration.*not seen/)
    expect(text).toMatch(/node-1 epoch 1 -> node-3 epoch 2/)
  })
})

describe('infra/up --cluster output', () => {
  it('gives the brokers from its kafka and nats lines', () => {
    const b = parseClusterUp(
      'kafka started: 127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096  logs: /x/kafka*.log\n' +
        'nats  reused: nats://127.0.0.1:24222,nats://127.0.0.1:24223  logs: /x/nats*.log\n' +
        'clients: export L2TP_CLUSTER=1 (or KAFKA_BROKERS and NATS_URL as above)\n',
    )
    expect(b).toEqual({
      kafka: 'started',
      nats: 'reused',
      env: {
        kafka: '127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096',
        nats: 'nats://127.0.0.1:24222,nats://127.0.0.1:24223',
      },
    })
  })

  it('refuses output that names no brokers', () => {
    expect(() => parseClusterUp('hello\n')).toThrow(/did not say where the brokers are/)
  })
})

describe('README walkthrough extraction', () => {
  it('takes the marked bash blocks only, in order', () => {
    const md = [
      '<!-- walkthrough -->',
      '```bash',
      'echo one',
      '```',
      '```bash',
      'echo not-this',
      '```',
      '<!-- walkthrough -->',
      '```bash',
      'echo two',
      '```',
    ].join('\n')
    expect(walkthroughScript(md)).toBe('echo one\necho two')
  })
})
