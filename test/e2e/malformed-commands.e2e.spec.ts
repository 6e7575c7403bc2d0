// Issue 9 item 6: a running l2tp-node process (--control) holding tunnels from our LAC gets
// 1,000 malformed, oversized (under the max payload), wrong-typed and random payloads on every
// command subject. Each gets an error reply, none times out; the node keeps serving its tunnels
// throughout (status answers, tunnel and session counts unchanged, the process alive) and still
// accepts a new tunnel at the end (nothing drained it or closed anything).
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as t from 'io-ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ErrorReply,
  endpointSubjects,
  issuedSubject,
  NodeStatus,
  nodeSubjects,
  unsafe,
} from '../../contracts/index.js'
import type { Simulation } from '../../nodes/shell/simulator.js'
import type { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { type NatsConnection, request } from '../../registry/shell/index.js'
import { sleep } from '../support/churn.js'
import { mulberry32 } from '../support/history.js'
import { natsAsOperator } from '../support/identity.js'
import { holdTunnels, killAll, spawnNode } from '../support/programs.js'

const RUN = Math.random().toString(36).slice(2, 8)
const NODE = `bad-${RUN}`
const EP = `lns-bad-${RUN}`
const LNS = '127.0.0.160'
const TUNNELS = 8
const SESSIONS = 4
const PER_SUBJECT = 1000

let node: ChildProcess
let operator: NatsConnection
const lacs: Array<{ lac: UdpEndpoint; sim: Simulation }> = []

/** Each subject with the command it takes: fields and a valid value of each (the mutation base). */
const targets = (unusedTunnel: number) => {
  const n = nodeSubjects(unsafe.nodeId(NODE))
  const e = endpointSubjects(unsafe.endpointId(EP))
  // State-changing commands go to the subject plus the sender's user name (the audited issuer).
  const issued = (subject: string) => issuedSubject(subject, 'operator')
  const issuer = {}
  return [
    { subject: n.status, type: 'GetNodeStatus', fields: {} },
    { subject: issued(n.takeover), type: 'TakeOverEndpoint', fields: { ...issuer, endpointId: EP } },
    { subject: e.tunnels, type: 'ListTunnels', fields: { endpointId: EP } },
    { subject: e.sessions, type: 'ListSessions', fields: { endpointId: EP, localTunnelId: unusedTunnel } },
    {
      subject: issued(e.closeTunnel),
      type: 'CloseTunnel',
      fields: { ...issuer, endpointId: EP, localTunnelId: unusedTunnel, reason: null },
    },
    {
      subject: issued(e.closeSession),
      type: 'CloseSession',
      fields: { ...issuer, endpointId: EP, localTunnelId: unusedTunnel, localSessionId: 1, reason: null },
    },
    {
      subject: issued(e.sync),
      type: 'SyncSessions',
      fields: { ...issuer, endpointId: EP, localTunnelId: unusedTunnel },
    },
    { subject: issued(e.drain), type: 'DrainEndpoint', fields: { ...issuer, endpointId: EP } },
  ] as const
}
type Target = ReturnType<typeof targets>[number]

/** Values no field of these commands accepts (ids are 1..65535, names match [A-Za-z0-9_-]{1,64}). */
const WRONG: readonly unknown[] = [
  -1,
  0,
  1.5,
  65536,
  1e308,
  '7',
  true,
  {},
  [],
  [1],
  { nested: { deeper: [1, 2, 3] } },
  'a.b',
  '*',
  '',
  'x'.repeat(65),
  'spaces in it',
]
/** Fields whose wrong values must not be null (null is valid for a nullable field). */
const NULLABLE = new Set(['reason', 'localTunnelId'])

const enc = new TextEncoder()
const bytesOf = (v: unknown) => enc.encode(typeof v === 'string' ? v : JSON.stringify(v))

/** The i-th malformed payload for one target: random bytes, bad JSON, wrong shapes, wrong types, huge. */
const payload = (tg: Target, i: number, rnd: () => number): Uint8Array => {
  const pick = <A>(xs: readonly A[]): A => xs[Math.floor(rnd() * xs.length)] as A
  const base = { type: tg.type, v: 1, ...tg.fields }
  const fields = Object.keys(tg.fields).filter((f) => f !== 'issuer') // issuer: see below
  if (i < 3) {
    // Large, under the 4 MB max payload: a huge wrong endpoint id, a huge array, a huge unknown field
    // next to a wrong type.
    const size = [1, 2, 3.5][i] ?? 1
    const big = 'e'.repeat(Math.floor(size * 1024 * 1024))
    if (i === 0) return bytesOf({ ...base, type: big })
    if (i === 1) return bytesOf(Array.from({ length: Math.floor((size * 1024 * 1024) / 8) }, () => 1234567))
    return bytesOf({ ...base, v: 2, padding: big })
  }
  if (i === 3) return enc.encode('['.repeat(200_000)) // unbalanced, very deep
  if (i === 4) return enc.encode(`${'['.repeat(50_000)}${']'.repeat(50_000)}`) // balanced, very deep
  switch (i % 8) {
    case 0:
      return Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256))
    case 1: {
      const s = JSON.stringify(base)
      return enc.encode(s.slice(0, Math.floor(rnd() * (s.length - 1)))) // truncated JSON
    }
    case 2:
      return bytesOf(pick([null, 0, 42, 'GetNodeStatus', '"quoted"', [], [base], true, 'null', '{}', '']))
    case 3:
      return bytesOf({ ...base, type: pick(['getnodestatus', 'Other', '', 7, null, tg.type.toLowerCase()]) })
    case 4:
      return bytesOf({ ...base, v: pick([0, 2, '1', null, 1.5, -1]) })
    case 5: {
      // one field of a wrong type (the node's own subjects have none but type and v)
      if (fields.length === 0) return bytesOf({ type: tg.type })
      const f = pick(fields)
      const wrong = WRONG.filter(
        (w) => !(NULLABLE.has(f) && w === null) && !(f === 'reason' && typeof w === 'string'),
      )
      return bytesOf({ ...base, [f]: pick(wrong) })
    }
    case 6: {
      // a field missing
      if (fields.length === 0) return bytesOf({ v: 1 })
      const f = pick(fields)
      const { [f]: _gone, ...rest } = base as Record<string, unknown>
      return bytesOf(rest)
    }
    default: {
      // issuer of a wrong type, and the endpoint of another format: wrong whatever issuer becomes
      const doc = { ...base, issuer: pick([42, null, {}, []]), endpointId: pick(['', 'a b', 7, null]) }
      return bytesOf(tg.type === 'GetNodeStatus' ? { ...doc, type: 'GetNodeStatus ' } : doc)
    }
  }
}

const Status = t.type({ ok: t.literal(true), result: NodeStatus })
const status = async () => {
  const r = await request(
    operator,
    nodeSubjects(unsafe.nodeId(NODE)).status,
    { type: 'GetNodeStatus', v: 1 },
    10_000,
  )()
  if (r._tag === 'Left') throw new Error(`status: ${r.left._tag}`)
  const d = Status.decode(r.right)
  if (d._tag === 'Left') throw new Error(`status reply: ${JSON.stringify(r.right).slice(0, 200)}`)
  const ep = d.right.result.endpoints.find((e) => e.endpointId === EP)
  return { tunnels: ep?.tunnels ?? -1, sessions: ep?.sessions ?? -1 }
}

/** Sends raw bytes; the decoded error reply, or why there was none. */
const send = async (subject: string, bytes: Uint8Array): Promise<string | null> => {
  try {
    const m = await operator.request(subject, bytes, { timeout: 15_000 })
    const body = JSON.parse(Buffer.from(m.data).toString('utf8')) as unknown
    return ErrorReply.is(body) ? null : `not an error reply: ${JSON.stringify(body).slice(0, 200)}`
  } catch (e) {
    return `no reply: ${e instanceof Error ? e.message : String(e)}`
  }
}

beforeAll(async () => {
  operator = await natsAsOperator()
  const dir = mkdtempSync(join(tmpdir(), 'malformed-'))
  node = await spawnNode({ dir, nodeId: NODE, endpoints: [{ id: EP, host: LNS }], flags: ['--control'] })
  for (let i = 0; ; i++) {
    if ((await status().catch(() => null)) !== null) break
    if (i > 300) throw new Error('the node never answered its status')
    await sleep(200)
  }
  lacs.push(await holdTunnels('127.0.0.161', LNS, TUNNELS, SESSIONS))
}, 120_000)

afterAll(async () => {
  for (const l of lacs) await l.lac.stop()
  killAll([node])
  await operator?.close()
})

describe('malformed commands to a running node', () => {
  it(`${PER_SUBJECT} malformed payloads on every command subject: each an error reply; the node keeps serving`, async () => {
    const held = { tunnels: TUNNELS, sessions: TUNNELS * SESSIONS }
    expect(await status()).toEqual(held)
    const list = await request(operator, endpointSubjects(unsafe.endpointId(EP)).tunnels, {
      type: 'ListTunnels',
      v: 1,
      endpointId: EP,
    })()
    const used = new Set(
      (list._tag === 'Right' ? JSON.stringify(list.right) : '')
        .match(/"localTunnelId":\d+/g)
        ?.map((s) => Number(s.split(':')[1])),
    )
    const unused = [...Array(65535).keys()].map((k) => k + 1).find((id) => !used.has(id)) ?? 1
    const rnd = mulberry32(9)
    const failures: string[] = []
    let sent = 0
    for (const tg of targets(unused)) {
      const jobs = Array.from({ length: PER_SUBJECT }, (_, i) => payload(tg, i, rnd))
      for (let i = 0; i < jobs.length; i += 50) {
        const results = await Promise.all(jobs.slice(i, i + 50).map((b) => send(tg.subject, b)))
        results.forEach((r, k) => {
          if (r !== null) failures.push(`${tg.subject} #${i + k}: ${r}`)
        })
        sent += results.length
        if (sent % 500 === 0) expect({ at: sent, ...(await status()) }).toEqual({ at: sent, ...held })
      }
    }
    expect(failures.slice(0, 10)).toEqual([])
    expect(sent).toBe(PER_SUBJECT * targets(unused).length)
    expect(await status()).toEqual(held)
    expect(node.exitCode).toBeNull()
    expect(node.signalCode).toBeNull()
    const lac = lacs[0]
    expect(lac?.sim.progress).toMatchObject({
      tunnelsUp: TUNNELS,
      sessionsUp: TUNNELS * SESSIONS,
      tunnelsFailed: 0,
    })
    expect(lac?.lac.engine.tunnels.size).toBe(TUNNELS)
    // Still accepting: a new tunnel with a session comes up.
    const more = await holdTunnels('127.0.0.162', LNS, 1, 1)
    lacs.push(more)
    expect(more.sim.progress).toMatchObject({ tunnelsUp: 1, sessionsUp: 1 })
    expect(await status()).toEqual({ tunnels: TUNNELS + 1, sessions: TUNNELS * SESSIONS + 1 })
  }, 300_000)
})
