// The registry's view of an endpoint at 64,000 sessions (issue 9: `state` killed the registry
// above ~13,000): synthetic events through real Kafka, folded by the registry, read by the
// auditor over NATS in pages, every row exactly once, live and as of an offset; the timeline
// paged; then `l2tpctl export | cat` byte for byte equal to a redirect.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EndpointSummary,
  encodeEvent,
  type L2tpEvent,
  registrySubjects,
  TimelineItem,
  type TopicNames,
} from '../../contracts/index.js'
import { canonicalJson, sessionCount } from '../../registry/index.js'
import { type NatsConnection, partitionFor, RegistryService } from '../../registry/shell/index.js'
import { eventLogDeps, freshTopics } from '../support/brokers.js'
import { sleep } from '../support/churn.js'
import { endpointActivated, sessionEstablished, tunnelEstablished } from '../support/history.js'
import { natsAsAuditor, natsAsRegistry } from '../support/identity.js'
import { allItems, askPast, pagedTable } from '../support/paging.js'

const RUN = Math.random().toString(36).slice(2, 8)
const EP = `lns-huge-${RUN}`
/** Subjects apart from other runs' registries on the shared dev NATS (they would answer too). */
const PREFIX = `ls${RUN}.`
const PARTITIONS = 3
const START = 1_800_000_000_000
/** One tunnel with 60,000 sessions (a page must be cut inside a tunnel), one with 4,000. */
const SHAPE: ReadonlyArray<readonly [number, number]> = [
  [7, 60_000],
  [9, 4_000],
]
const SESSIONS = 64_000
const sh = promisify(execFile)

let names: TopicNames
let registry: RegistryService
let nc: NatsConnection
let auditor: NatsConnection
const events: L2tpEvent[] = []

const synthetic = (): L2tpEvent[] => {
  const out: L2tpEvent[] = []
  const env = () => ({
    endpointId: EP,
    epoch: 1,
    seq: out.length + 1,
    at: START + out.length,
    nodeId: 'node-1',
  })
  out.push(endpointActivated(env()))
  let serial = 1
  for (const [tid, n] of SHAPE) {
    out.push(tunnelEstablished(env(), tid, tid + 100))
    for (let sid = 1; sid <= n; sid++) out.push(sessionEstablished(env(), tid, sid, serial++))
  }
  return out
}

beforeAll(async () => {
  names = await freshTopics(PARTITIONS)
  const deps = eventLogDeps(names, 'listing')
  events.push(...synthetic())
  const producer = deps.kafka.producer()
  await producer.connect()
  const partition = partitionFor(EP, PARTITIONS)
  for (let i = 0; i < events.length; i += 1000)
    await producer.send({
      topic: names.events,
      messages: events.slice(i, i + 1000).map((e) => ({ key: EP, value: encodeEvent(e), partition })),
    })
  await producer.disconnect()
  registry = new RegistryService(eventLogDeps(names, 'listing-registry'), {
    groupId: `registry-${RUN}`,
    snapshotEveryEvents: 1_000_000,
    snapshotEveryMs: 600_000,
  })
  await registry.start()
  nc = await natsAsRegistry(PREFIX)
  await registry.serveQueries(nc)
  auditor = await natsAsAuditor(PREFIX)
  const until = Date.now() + 120_000
  while ((registry.fleet.get(EP)?.seq ?? 0) < events.length) {
    if (Date.now() > until) throw new Error('the registry did not fold every event in time')
    await sleep(100)
  }
}, 180_000)

afterAll(async () => {
  await registry?.stop()
  await Promise.all([nc?.close(), auditor?.close()])
})

describe('the registry at 64,000 sessions on one endpoint (issue 9 regression)', () => {
  it('the endpoint view comes paged: every row exactly once, the table rebuilt byte for byte', async () => {
    const live = registry.fleet.get(EP)
    if (live === undefined) throw new Error('no table')
    expect(sessionCount(live)).toBe(SESSIONS)
    const body = { type: 'GetEndpoint', v: 1, endpointId: EP }
    const r = await pagedTable(auditor, registrySubjects.endpoint, body)
    expect(r.rows).toBe(SHAPE.length + SESSIONS)
    expect(Math.max(...r.sizes)).toBeLessThanOrEqual(500)
    const keys = r.view.tunnels.flatMap((t) =>
      t.sessions.map((s) => `${t.localTunnelId}/${s.localSessionId}`),
    )
    expect(new Set(keys).size).toBe(SESSIONS)
    expect(JSON.stringify(r.view)).toBe(canonicalJson(live))
    // The largest pages a caller may ask for are cut by bytes instead.
    const big = await pagedTable(auditor, registrySubjects.endpoint, { ...body, limit: 5000 })
    expect(Math.max(...big.sizes)).toBeLessThan(5000)
    expect(JSON.stringify(big.view)).toBe(canonicalJson(live))
    // Filtered to one tunnel.
    const one = await pagedTable(auditor, registrySubjects.endpoint, {
      ...body,
      filter: { localTunnelId: 9 },
    })
    expect(one.view.tunnels.map((t) => [t.localTunnelId, t.sessions.length])).toEqual([[9, 4_000]])
    // One tunnel's whole view (60,000 sessions, ~18 MB) is not a listing: it gets TooLarge, and
    // the registry goes on answering (the filter above is the paged way to the same rows).
    const tunnel = (id: number) =>
      askPast(auditor, registrySubjects.tunnel, {
        type: 'GetTunnel',
        v: 1,
        endpointId: EP,
        localTunnelId: id,
      })
    expect(await tunnel(7)).toMatchObject({ ok: false, code: 'TooLarge' })
    expect(await tunnel(9)).toMatchObject({ ok: true, result: { localTunnelId: 9 } })
    console.log(
      `[measure] registry endpoint view of ${SESSIONS} sessions: ${r.sizes.length} pages (default), ${big.sizes.length} at limit 5000`,
    )
  }, 120_000)

  it('as of an offset, paged the same way (one fold of the log for all the pages)', async () => {
    const last = String(events.length - 1)
    const r = await pagedTable(
      auditor,
      registrySubjects.asOf,
      { type: 'GetStateAsOf', v: 1, endpointId: EP, asOf: { offset: last } },
      60_000,
    )
    expect(r.rows).toBe(SHAPE.length + SESSIONS)
    const live = registry.fleet.get(EP)
    if (live === undefined) throw new Error('no table')
    expect(JSON.stringify(r.view)).toBe(canonicalJson(live))
  }, 120_000)

  it('endpoints and the timeline are paged too', async () => {
    const list = await allItems(
      auditor,
      registrySubjects.endpoints,
      { type: 'ListEndpoints', v: 1, filter: { active: true } },
      EndpointSummary,
    )
    expect(list.items.filter((e) => e.endpointId === EP)).toMatchObject([{ sessions: SESSIONS, tunnels: 2 }])
    const tl = await allItems(
      auditor,
      registrySubjects.timeline,
      { type: 'GetTimeline', v: 1, endpointId: EP, localTunnelId: 9, localSessionId: null, limit: 1000 },
      TimelineItem,
      60_000,
    )
    expect(tl.items).toHaveLength(1 + 4_000)
    expect(tl.sizes.length).toBeGreaterThanOrEqual(5)
    const offsets = tl.items.map((e) => e.offset)
    expect(new Set(offsets).size).toBe(offsets.length)
    expect(tl.items[0]?.event.type).toBe('TunnelEstablished')
  }, 120_000)

  it('`l2tpctl export | cat` is byte for byte the redirect, complete NDJSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'export-'))
    const ctl = `${process.execPath} --import tsx registry/cli/l2tpctl.ts export --to ${START + 20_000}`
    const env = { ...process.env, L2TP_TOPIC_PREFIX: names.events.replace('l2tp.events', '') }
    const bash = (script: string) => sh('bash', ['-c', `set -o pipefail; ${script}`], { env })
    await bash(`${ctl} | cat > ${join(dir, 'piped.ndjson')}`)
    await bash(`${ctl} > ${join(dir, 'redirected.ndjson')}`)
    const piped = readFileSync(join(dir, 'piped.ndjson'), 'utf8')
    expect(piped).toBe(readFileSync(join(dir, 'redirected.ndjson'), 'utf8'))
    expect(piped.length).toBeGreaterThan(1_000_000)
    const lines = piped.trimEnd().split('\n')
    expect(lines).toHaveLength(20_001)
    expect(lines.every((l) => (JSON.parse(l) as { kind: string }).kind === 'event')).toBe(true)
    const head = await bash(
      `${ctl} 2>${join(dir, 'err.txt')} | head -c 100 >/dev/null; echo "rc=\${PIPESTATUS[0]}"`,
    )
    expect(head.stdout).toBe('rc=0\n')
    expect(readFileSync(join(dir, 'err.txt'), 'utf8')).toBe('')
  }, 120_000)
})
