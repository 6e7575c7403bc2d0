// The fair set-up queue (issue 12, overload limits): round robin by source host, bounded in all
// and per source, and a full queue gives way to a newcomer by dropping the busiest source's newest.
import { describe, expect, it } from 'vitest'
import { unsafe } from '../../../contracts/index.js'
import { FairSetupQueue, type WaitingSetup } from '../../../nodes/shell/setup-queue.js'

const req = (host: string, n: number): WaitingSetup => ({
  from: { host, port: unsafe.port(1701) },
  bytes: Uint8Array.from([n]),
})
const drain = (q: FairSetupQueue): string[] => {
  const out: string[] = []
  for (let w = q.next(); w !== undefined; w = q.next()) out.push(`${w.from.host}#${w.bytes[0]}`)
  return out
}

describe('fair set-up queue', () => {
  it('serves sources in turn, each in its own order', () => {
    const q = new FairSetupQueue(100, 10)
    for (let i = 0; i < 3; i++) q.push(req('flood', i))
    q.push(req('lac', 0))
    q.push(req('other', 0))
    expect(q.length).toBe(5)
    expect(drain(q)).toEqual(['flood#0', 'lac#0', 'other#0', 'flood#1', 'flood#2'])
    expect(q.length).toBe(0)
  })

  it('sheds past the per-source bound and counts it', () => {
    const q = new FairSetupQueue(100, 2)
    expect([0, 1, 2].map((i) => q.push(req('flood', i)))).toEqual([true, true, false])
    expect(q.shed).toBe(1)
    expect(q.push(req('lac', 0))).toBe(true)
  })

  it('full of one flooder: a newcomer pushes out the flooder’s newest request instead of being shed', () => {
    const q = new FairSetupQueue(8, 8)
    for (let i = 0; i < 8; i++) q.push(req('flood', i))
    expect(q.push(req('lac', 0))).toBe(true)
    expect(q.push(req('lac', 1))).toBe(true)
    expect(q.length).toBe(8)
    expect(q.shed).toBe(2)
    expect(drain(q)).toEqual([
      'flood#0',
      'lac#0',
      'flood#1',
      'lac#1',
      'flood#2',
      'flood#3',
      'flood#4',
      'flood#5',
    ])
  })

  it('full and balanced: the next request is shed (nobody has more than the newcomer + 1)', () => {
    const q = new FairSetupQueue(4, 4)
    for (const h of ['a', 'b', 'c', 'd']) q.push(req(h, 0))
    expect(q.push(req('e', 0))).toBe(false)
    expect(q.push(req('a', 1))).toBe(false)
    expect(q.length).toBe(4)
    expect(q.shed).toBe(2)
  })
})
