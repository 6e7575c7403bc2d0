// The l2tp-node config: readable errors with the path of the fault; RFC rules enforced.
import { describe, expect, it } from 'vitest'
import { engineConfigOf, parseConfig } from '../../../nodes/cli/config.js'

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
  ])('refuses %s with a readable reason', (_name, text, want) => {
    const r = parseConfig(text)
    expect(r._tag).toBe('Left')
    if (r._tag === 'Left') expect(r.left).toMatch(want)
  })
})
