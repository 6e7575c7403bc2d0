// flood: 100,000 SCCRQs and ICRQs per trial from many loopback source addresses, as fast as this
// process can send them, at the endpoint two `--ha` nodes share, while our LAC holds its tunnels
// and opens new ones. Measured (no limit is assumed to exist): legitimate set-ups that succeeded,
// whether the lease stayed put, the owner's memory, and its counters against what was sent.
import { createSocket, type Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { unsafe } from '../../contracts/index.js'
import { decodePacket, encodeControl } from '../../nodes/wire/index.js'
import { type HaNode, sleep } from '../../test/support/ha-rig.js'
import { httpGet } from '../../test/support/spawn.js'
import { type Figures, parseArgs, report, since, startHa } from './lib.js'

const MESSAGES = 100_000
const SOURCES = 64
const METRICS_PORT = 29_501
/** The overload limits the endpoint runs with (README config reference); the drill reports their counters. */
const LIMITS = {
  maxHalfOpenPerSource: 256, // room for our LAC, which opens its 100 tunnels at once from one address
  maxHalfOpen: 4096,
  admission: { sccrq: { perSecond: 500, burst: 1000 }, icrq: { perSecond: 5000, burst: 10_000 } },
}

const rssMiB = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? -1 : Math.round(Number(m[1]) / 1024)
  } catch {
    return -1
  }
}

/** Sums of the owner's counters (Prometheus text), by metric name. */
const scrape = async (port: number): Promise<Record<string, number>> => {
  const r = await httpGet(port, '/metrics')
  const out: Record<string, number> = {}
  for (const line of r.body.split('\n')) {
    const m = /^(l2tp_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line)
    if (m === null) continue
    const k = m[1] as string
    out[k] = (out[k] ?? 0) + Number(m[3])
  }
  return out
}

const sccrq = (assigned: number, tie: boolean) =>
  encodeControl({
    tunnelId: 0,
    sessionId: 0,
    ns: 0,
    nr: 0,
    type: 1,
    avps: {
      protocolVersion: { ver: 1, rev: 0 },
      framingCapabilities: { sync: true, async: true },
      hostName: `flood-${assigned}`,
      assignedTunnelId: assigned,
      ...(tie ? { tieBreaker: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, assigned & 0xff]) } : {}),
    },
  })

/** A flooder: SCCRQs from its socket; each SCCRP it gets is answered by SCCCN, then ICRQs in it. */
interface Flooder {
  readonly socket: Socket
  readonly tunnels: Array<{ peer: number; ns: number }>
}

const startFlooders = async (lns: string): Promise<Flooder[]> => {
  const out: Flooder[] = []
  for (let i = 0; i < SOURCES; i++) {
    const socket = createSocket('udp4')
    await new Promise<void>((r) =>
      socket.bind(0, `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`, () => r()),
    )
    const f: Flooder = { socket, tunnels: [] }
    socket.on('message', (d) => {
      const p = decodePacket(new Uint8Array(d))
      if (p._tag !== 'Right' || p.right._tag !== 'Control') return
      const m = p.right.msg
      if (m.type !== 2 || m.avps.assignedTunnelId === undefined) return
      const peer = m.avps.assignedTunnelId
      socket.send(encodeControl({ tunnelId: peer, sessionId: 0, ns: 1, nr: 1, type: 3, avps: {} }), 1701, lns)
      f.tunnels.push({ peer, ns: 2 })
    })
    out.push(f)
  }
  return out
}

/** Sends `total` datagrams, about half SCCRQ and half ICRQ (in tunnels the flooders opened). */
const flood = async (flooders: readonly Flooder[], lns: string, total: number) => {
  const sent = { sccrq: 0, icrq: 0 }
  let n = 0
  while (n < total) {
    for (let k = 0; k < 400 && n < total; k++, n++) {
      const f = flooders[n % flooders.length] as Flooder
      const t = f.tunnels[n % Math.max(1, f.tunnels.length)]
      if (t !== undefined && n % 2 === 1) {
        f.socket.send(
          encodeControl({
            tunnelId: t.peer,
            sessionId: 0,
            ns: t.ns++ & 0xffff,
            nr: 1,
            type: 10,
            avps: { assignedSessionId: 1 + (n % 65_535), callSerialNumber: n },
          }),
          1701,
          lns,
        )
        sent.icrq++
      } else {
        f.socket.send(sccrq(1 + (n % 65_535), n % 3 === 0), 1701, lns)
        sent.sccrq++
      }
    }
    await new Promise((r) => setImmediate(r))
  }
  return sent
}

export const floodDrill = async (argv: readonly string[]): Promise<void> => {
  const a = parseArgs(argv, { trials: 1, tunnels: 100, sessions: 4 })
  const lnsHost = '127.0.0.138'
  const ctx = await startHa({
    drill: 'flood',
    nodes: 2,
    tunnels: a.tunnels,
    sessions: a.sessions,
    lnsHost,
    lacHost: '127.0.0.139',
    spec: (i) => ({ flags: ['--metrics-port', String(METRICS_PORT + i)], endpoint: LIMITS }),
  })
  const rows: Figures[] = []
  const flooders = await startFlooders(lnsHost)
  try {
    for (let trial = 1; trial <= a.trials; trial++) {
      const before = await ctx.owner()
      const owner: HaNode | null = before?.node ?? null
      if (owner === null) throw new Error('no live owner')
      const port = METRICS_PORT + ctx.nodes.indexOf(owner)
      const m0 = await scrape(port)
      const rss0 = rssMiB(owner.pid())
      let rssPeak = rss0
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, rssMiB(owner.pid()))
      }, 250)
      // The legitimate LAC, meanwhile, every 100 ms: a new tunnel, and a new call in one of the
      // tunnels it holds (in turn).
      const t0 = Date.now()
      const up0 = { t: ctx.lac.counts.tunnelsUp, s: ctx.lac.counts.sessionsUp, lost: ctx.lac.counts.lost }
      const held = [...ctx.lac.ep.engine.tunnels.values()].filter((t) => t.state === 'established')
      let attempts = 0
      let callAttempts = 0
      let legit = true
      const legitLoop = (async () => {
        while (legit) {
          ctx.lac.ep.input({ _tag: 'OpenTunnel', peer: { host: lnsHost, port: unsafe.port(1701) } })
          attempts++
          const t = held[callAttempts % Math.max(1, held.length)]
          if (t !== undefined) {
            ctx.lac.ep.input({ _tag: 'OpenSession', tunnelId: t.localId, direction: 'incoming' })
            callAttempts++
          }
          await sleep(100)
        }
      })()
      const sent = await flood(flooders, lnsHost, MESSAGES)
      const floodMs = since(t0)
      legit = false // the legitimate requests are made while the flood runs
      await legitLoop
      await sleep(5000) // the legitimate set-ups in flight finish
      const newTunnels = ctx.lac.counts.tunnelsUp - up0.t
      clearInterval(sampler)
      const m1 = await scrape(port)
      const after = await ctx.owner()
      const d = (k: string) => Math.round((m1[k] ?? 0) - (m0[k] ?? 0))
      rows.push({
        trial,
        sent: sent.sccrq + sent.icrq,
        sccrq: sent.sccrq,
        icrq: sent.icrq,
        floodMs,
        legitAttempts: attempts,
        legitTunnelsUp: newTunnels,
        legitCallAttempts: callAttempts,
        legitSessionsUp: ctx.lac.counts.sessionsUp - up0.s,
        legitSessionsLost: ctx.lac.counts.lost - up0.lost,
        heldTunnelsStillUp: held.filter(
          (t) => ctx.lac.ep.engine.tunnels.get(t.localId)?.state === 'established',
        ).length,
        heldTunnels: held.length,
        leaseMoves: before === null || after === null ? -1 : after.epoch - before.epoch,
        ownerServing: owner.marks.at(-1)?.msg === 'serving endpoint' && owner.alive(),
        rssBeforeMiB: rss0,
        rssPeakMiB: rssPeak,
        datagramsCounted: d('l2tp_datagrams_total'),
        malformed: d('l2tp_malformed_total'),
        discarded: d('l2tp_discarded_total'),
        refused: d('l2tp_refused_total'),
        refusedSccrqRate: d('l2tp_refused_sccrq_rate_total'),
        refusedIcrqRate: d('l2tp_refused_icrq_rate_total'),
        refusedHalfOpen: d('l2tp_refused_half_open_total'),
        setupsShed: d('l2tp_setups_shed_total'),
        tunnelsAtEnd: m1.l2tp_tunnels ?? -1,
      })
      console.log(JSON.stringify(rows.at(-1)))
    }
  } finally {
    for (const f of flooders) f.socket.close()
    await ctx.stop()
  }
  const r = rows[0] ?? {}
  report(
    'flood',
    {
      trials: rows.length,
      messagesPerTrial: MESSAGES,
      sourceAddresses: SOURCES,
      sessionsLost: ctx.lac.counts.lost,
      eventsLost: -1,
      duplicates: -1,
      legitAttempts: Number(r.legitAttempts ?? 0),
      legitTunnelsUp: Number(r.legitTunnelsUp ?? 0),
      legitCallAttempts: Number(r.legitCallAttempts ?? 0),
      legitSessionsUp: Number(r.legitSessionsUp ?? 0),
      leaseMoves: rows.reduce((s, x) => s + Math.max(0, Number(x.leaseMoves)), 0),
      rssPeakMiB: Math.max(...rows.map((x) => Number(x.rssPeakMiB))),
      datagramsCounted: Number(r.datagramsCounted ?? 0),
      sent: Number(r.sent ?? 0),
    },
    rows,
    [
      'the endpoint runs with the overload limits in LIMITS (half-open per source, SCCRQ and ICRQ buckets); their counters are in the row',
      'eventsLost/duplicates are not measured here (-1): the flood drill checks admission, not the log',
      'datagramsCounted includes the legitimate LAC traffic; sent counts only the flood',
    ],
  )
}
