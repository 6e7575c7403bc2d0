// The l2tp-node config: readable errors with the path of the fault; RFC rules enforced.
import { describe, expect, it } from 'vitest'
import { engineConfigOf, leaseOf, parseConfig } from '../../../nodes/cli/config.js'
import { DEFAULT_LEASE, leaseProblem } from '../../../nodes/shell/lease.js'

const base = {
  nodeId: 'node-1',
  endpoints: [{ id: 'lns-a', role: 'LNS', address: { host: '127.0.0.2', port: 1701 } }],
}
const withEp = (over: Record<string, unknown>) =>
  JSON.stringify({ ...base, endpoints: [{ ...base.endpoints[0], ...over }] })

describe('l2tp-node config', () => {
  it('accepts a minimal config and fills RFC defaults (retransmit 1 s, cap 8 s, 5 retries, HELLO 60 s)', () => {
    const r = parseConfig(JSON.stringify(base))
    expect(r._tag).toBe('Right')
    if (r._tag !== 'Right') return
    const c = engineConfigOf(r.right.endpoints[0] as never)
    expect(c.channel).toMatchObject({
      initialTimeoutMs: 1000,
      maxTimeoutMs: 8000,
      maxRetransmits: 5,
      helloIntervalMs: 60_000,
    })
    expect(c.hostName).toBe('lns-a')
    // Overload limits: 65,535 tunnels, no admission buckets, sessions set up within 60 s.
    expect(c).toMatchObject({ maxTunnels: 65_535, admission: {}, sessionSetupMs: 60_000 })
  })

  it.each([
    ['not JSON', '{', /config is not JSON/],
    ['a bad endpoint id', withEp({ id: 'a b' }), /at \.endpoints\.0\.id: expected EndpointId/],
    [
      'a port out of range',
      withEp({ address: { host: '127.0.0.2', port: 70000 } }),
      /at \.endpoints\.0\.address\.port/,
    ],
    [
      'a tunnel cap past the 16-bit id space',
      withEp({ maxTunnels: 70_000 }),
      /at \.endpoints\.0\.maxTunnels: expected TunnelCount/,
    ],
    [
      'an admission bucket with burst 0',
      withEp({ admission: { sccrq: { perSecond: 10, burst: 0 } } }),
      /at \.endpoints\.0\.admission\.sccrq\.burst: expected PositiveInt/,
    ],
    [
      'an admission rate without its burst',
      withEp({ admission: { icrq: { perSecond: 10 } } }),
      /at \.endpoints\.0\.admission\.icrq\.burst/,
    ],
    ['a zero half-open cap', withEp({ maxHalfOpenPerSource: 0 }), /at \.endpoints\.0\.maxHalfOpenPerSource/],
    ['a fractional endpoint half-open cap', withEp({ maxHalfOpen: 2.5 }), /at \.endpoints\.0\.maxHalfOpen/],
    ['a negative set-up timeout', withEp({ sessionSetupMs: -1 }), /at \.endpoints\.0\.sessionSetupMs/],
    [
      'a backoff cap under 8 s (RFC 2661 §5.8)',
      withEp({ retransmit: { maxMs: 4000 } }),
      /at \.endpoints\.0\.retransmit\.maxMs: expected AtLeast8000/,
    ],
    [
      'FO-02, FO-03: failover with C=0 and D=0',
      withEp({ failover: { control: false, data: false, recoveryTimeMs: 0 } }),
      /at \.endpoints\.0\.failover/,
    ],
    [
      'a secret without value',
      withEp({ secrets: [{ ref: 'x', peerHostName: '*' }] }),
      /needs secret or secretEnv/,
    ],
    [
      'a secret from an unset variable',
      withEp({ secrets: [{ ref: 'x', peerHostName: '*', secretEnv: 'L2TP_NO_SUCH_VAR' }] }),
      /L2TP_NO_SUCH_VAR .* is not set/,
    ],
    [
      'duplicate endpoint ids',
      JSON.stringify({ ...base, endpoints: [base.endpoints[0], base.endpoints[0]] }),
      /must be unique/,
    ],
    [
      'an empty endpoint list',
      JSON.stringify({ ...base, endpoints: [] }),
      /at \.endpoints: at least one endpoint/,
    ],
    [
      'an outbox high-water mark above its capacity',
      JSON.stringify({ ...base, outbox: { capacity: 10, highWater: 20 } }),
      /at \.outbox\.highWater/,
    ],
    [
      'a lease renewed no faster than it is detected',
      JSON.stringify({ ...base, lease: { renewMs: 3000, detectionMs: 3000 } }),
      /at \.lease: detectionMs \(3000\) must be at least 2 x renewMs \(3000\)/,
    ],
    [
      'a detection time below 2 x the renewal interval',
      JSON.stringify({ ...base, lease: { renewMs: 1000, detectionMs: 1999 } }),
      /at \.lease: detectionMs \(1999\) must be at least 2 x renewMs \(1000\)/,
    ],
    ['a detection time of 0', JSON.stringify({ ...base, lease: { detectionMs: 0 } }), /\.lease\.detectionMs/],
    [
      'a margin that leaves no renewal interval of validity',
      JSON.stringify({ ...base, lease: { renewMs: 500, detectionMs: 1000, marginMs: 500 } }),
      /at \.lease: marginMs \(500\)/,
    ],
  ])('refuses %s with a readable reason', (_name, text, want) => {
    const r = parseConfig(text)
    expect(r._tag).toBe('Left')
    if (r._tag === 'Left') expect(r.left).toMatch(want)
  })

  it.each([
    ['a top-level key', { ...base, metricPort: 9100 }, '.metricPort'],
    ['an endpoint key', JSON.parse(withEp({ sercrets: [] })), '.endpoints.0.sercrets'],
    [
      'an address key',
      JSON.parse(withEp({ address: { host: '127.0.0.2', port: 1701, hots: 'x' } })),
      '.endpoints.0.address.hots',
    ],
    [
      'a secret key',
      JSON.parse(withEp({ secrets: [{ ref: 'x', peerHostName: '*', secret: 's', scret: 't' }] })),
      '.endpoints.0.secrets.0.scret',
    ],
    [
      'a retransmit key',
      JSON.parse(withEp({ retransmit: { initalMs: 500 } })),
      '.endpoints.0.retransmit.initalMs',
    ],
    [
      'a failover key',
      JSON.parse(withEp({ failover: { control: true, data: true, recoveryTimeMs: 0, x: 1 } })),
      '.endpoints.0.failover.x',
    ],
    ['an outbox key', { ...base, outbox: { capacty: 5 } }, '.outbox.capacty'],
    ['a lease key', { ...base, lease: { detection: 5 } }, '.lease.detection'],
  ])('refuses an unknown key anywhere (%s), naming its path', (_name, config, path) => {
    expect(parseConfig(JSON.stringify(config))).toEqual({
      _tag: 'Left',
      left: `invalid config: at ${path}: unknown key`,
    })
  })

  it('accepts every documented key, outbox and lease knobs included', () => {
    const r = parseConfig(
      JSON.stringify({
        ...base,
        metricsPort: 9100,
        stopTimeoutMs: 2000,
        outbox: { capacity: 1000, highWater: 800, batch: 50 },
        lease: { renewMs: 500, detectionMs: 2000, pollMs: 100 },
        endpoints: [
          {
            ...base.endpoints[0],
            hostName: 'lns',
            secrets: [{ ref: 'x', peerHostName: '*', secret: 's' }],
            challenge: true,
            hideAvps: false,
            receiveWindow: 8,
            retransmit: { initialMs: 500, maxMs: 8000, retries: 3 },
            helloIntervalMs: 0,
            maxSessionsPerTunnel: 10,
            maxTunnels: 100,
            maxHalfOpenPerSource: 8,
            maxHalfOpen: 64,
            admission: { sccrq: { perSecond: 50, burst: 100 }, icrq: { perSecond: 500, burst: 1000 } },
            sessionSetupMs: 20_000,
            tieBreaker: true,
            dataResyncPackets: 4,
            failover: { control: true, data: true, recoveryTimeMs: 1000 },
          },
        ],
      }),
    )
    expect(r).toMatchObject({ _tag: 'Right', right: { outbox: { highWater: 800 }, lease: { renewMs: 500 } } })
  })
})

describe('the lease of a node (--detection-ms over the file)', () => {
  const config = (lease: object) => {
    const r = parseConfig(
      JSON.stringify({
        nodeId: 'n1',
        endpoints: [{ id: 'ep1', role: 'LNS', address: { host: '127.0.0.1', port: 1701 } }],
        lease,
      }),
    )
    if (r._tag === 'Left') throw new Error(r.left)
    return r.right
  }

  it('takes the defaults, then the file, then --detection-ms', () => {
    expect(leaseOf(config({}), undefined)).toMatchObject({ _tag: 'Right', right: DEFAULT_LEASE })
    expect(leaseOf(config({ renewMs: 400 }), 1200)).toMatchObject({
      _tag: 'Right',
      right: { renewMs: 400, detectionMs: 1200 },
    })
  })

  it('refuses challenge without any secret (challenge fails closed: every peer would be refused)', () => {
    const r = parseConfig(JSON.stringify({ ...base, endpoints: [{ ...base.endpoints[0], challenge: true }] }))
    expect(r).toMatchObject({ _tag: 'Left' })
    if (r._tag === 'Left') expect(r.left).toMatch(/challenge needs at least one secret/)
    const ok = parseConfig(
      JSON.stringify({
        ...base,
        endpoints: [
          { ...base.endpoints[0], challenge: true, secrets: [{ ref: 'x', peerHostName: '*', secret: 's' }] },
        ],
      }),
    )
    expect(ok).toMatchObject({ _tag: 'Right' })
  })

  it('refuses a --detection-ms below 2 x renewMs, naming the flag', () => {
    const r = leaseOf(config({ renewMs: 1000, detectionMs: 4000 }), 1500)
    expect(r).toMatchObject({ _tag: 'Left' })
    if (r._tag === 'Left')
      expect(r.left).toBe(
        'invalid config: at --detection-ms: detectionMs (1500) must be at least 2 x renewMs (1000): one failed renewal must not lose the lease',
      )
  })

  it('the defaults obey the rule they enforce', () => {
    expect(leaseProblem(DEFAULT_LEASE)).toBeNull()
    expect(DEFAULT_LEASE.detectionMs).toBeGreaterThanOrEqual(2 * DEFAULT_LEASE.renewMs)
  })
})
