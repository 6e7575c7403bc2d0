// l2tpctl refuses bad arguments before it sends anything: one line on stderr, exit 2 (no broker
// is asked: NATS_URL points nowhere, so a request would fail with exit 1 instead).
import { describe, expect, it } from 'vitest'
import { ctl } from '../../support/programs.js'

const NOWHERE = { NATS_URL: 'nats://127.0.0.1:1' }

describe('l2tpctl bad usage', () => {
  it.each([
    [
      'a --reason longer than one Result Code AVP',
      ['close-tunnel', '--endpoint', 'lns-a', '--tunnel', '1', '--reason', 'x'.repeat(256)],
    ],
    ['a timeline tunnel id that is not one', ['timeline', '--tunnel', 'lns-a/abc']],
    ['a timeline session id out of range', ['timeline', '--session', 'lns-a/1/70000']],
  ])('%s: exit 2, one line', async (_what, args) => {
    const r = await ctl(args, NOWHERE)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^l2tpctl: .*\(see --help\)\n$/)
  })
})
