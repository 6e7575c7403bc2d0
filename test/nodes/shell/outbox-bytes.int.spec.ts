// Publishing bounded by bytes (issue 12) against the real broker: peer strings of 1,000 bytes
// (host and vendor names, numbers, result messages) in every event, far more than one
// count-bounded transaction of them fits under the events topic's max.message.bytes: the outbox
// cuts transactions by bytes and commits every event, in order, nothing dead-lettered. Strings
// that grow past the AVP maximum in UTF-8 are cut and marked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EVENT_TEXT_MAX_BYTES,
  EVENTS_MAX_MESSAGE_BYTES,
  type L2tpEvent,
  type TopicNames,
  unsafe,
} from '../../../contracts/index.js'
import { DEFAULT_OUTBOX, Outbox, recordBytes } from '../../../nodes/shell/outbox.js'
import { UdpEndpoint } from '../../../nodes/shell/udp-endpoint.js'
import { type EventLogDeps, openEndpointWriter, readEndpointHistory } from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../../support/brokers.js'
import { waitFor } from '../../support/churn.js'
import { engineConfig } from '../../support/sim.js'

let names: TopicNames
let deps: EventLogDeps
beforeAll(async () => {
  names = await freshTopics(1)
  deps = eventLogDeps(names, 'outbox-bytes')
})
afterAll(async () => undefined)

const text = (c: string, n = 1000) => c.repeat(n)

describe('outbox bounded by bytes', () => {
  it('events with 1,000-byte peer strings: every one committed, in order, in transactions under the limit', async () => {
    const id = `ob-${Math.random().toString(36).slice(2, 8)}`
    const ep = new UdpEndpoint(
      engineConfig(),
      { host: '127.0.0.70', port: unsafe.port(1701) },
      {
        endpointId: unsafe.endpointId(id),
        nodeId: unsafe.nodeId('node-ob'),
        epoch: 1,
      },
    )
    const batches: number[] = []
    const dead: L2tpEvent[] = []
    const outbox = new Outbox(
      () => async () => {
        const w = rightOrThrow(await openEndpointWriter(deps, id)())
        return {
          _tag: 'Right',
          right: {
            ...w,
            append: (events: readonly L2tpEvent[]) => {
              batches.push(events.reduce((n, e) => n + recordBytes(e), 0))
              return w.append(events)
            },
          },
        } as const
      },
      DEFAULT_OUTBOX,
      {
        onPressure: () => undefined,
        onFenced: () => undefined,
        deadLetter: async (e) => void dead.push(e),
        log: () => undefined,
      },
    )
    const all: L2tpEvent[] = []
    ep.subscribe((e) => {
      all.push(e)
      outbox.push(e)
    })
    const tunnels = 600
    for (let t = 1; t <= tunnels; t++) {
      ep.record({
        type: 'TunnelEstablished',
        v: 1,
        localTunnelId: unsafe.tunnelId(t),
        remoteTunnelId: unsafe.tunnelId(t),
        local: { host: '127.0.0.70', port: unsafe.port(1701) },
        peer: { host: '127.0.0.71', port: unsafe.port(1701) },
        role: 'LNS',
        originator: 'peer',
        localHostName: id,
        peerHostName: text('h'),
        // A peer's 1,000 bytes that decode to U+FFFD each: 3,000 bytes in UTF-8, cut and marked.
        peerVendorName: t % 10 === 0 ? text('\ufffd') : text('v'),
        peerFirmwareRevision: 1,
        peerFraming: { sync: true, async: true },
        peerBearer: { digital: true, analog: false },
        localReceiveWindow: 16,
        peerReceiveWindow: 16,
        localFailover: null,
        peerFailover: null,
        authenticated: false,
        secretRef: null,
      } as never)
      ep.record({
        type: 'SessionEstablished',
        v: 2,
        localTunnelId: unsafe.tunnelId(t),
        localSessionId: 1,
        remoteSessionId: 1,
        callSerial: t,
        direction: 'incoming',
        framing: 'sync',
        bearer: null,
        txConnectSpeed: 1000,
        rxConnectSpeed: null,
        callingNumber: text('1'),
        calledNumber: text('2'),
        physicalChannelId: null,
        sequencing: false,
      } as never)
      ep.record({
        type: 'SessionClosed',
        v: 1,
        localTunnelId: unsafe.tunnelId(t),
        localSessionId: 1,
        resultCode: 2,
        errorCode: null,
        message: text('m'),
        q931: null,
        closedBy: 'peer',
      } as never)
    }
    const total = tunnels * 3
    // One count-bounded transaction (500 events) holds more than the byte cap allows.
    const first = all.slice(0, DEFAULT_OUTBOX.batch).reduce((n, e) => n + recordBytes(e), 0)
    expect(first).toBeGreaterThan(DEFAULT_OUTBOX.batchBytes ?? 0)
    expect(DEFAULT_OUTBOX.batchBytes ?? 0).toBeLessThan(EVENTS_MAX_MESSAGE_BYTES)
    await waitFor('the outbox to drain', () => outbox.pending === 0, 60_000)
    expect(outbox.appended).toBe(total)
    expect(dead).toEqual([])
    expect(outbox.deadLettered).toBe(0)
    expect(batches.length).toBeGreaterThan(1)
    for (const b of batches) expect(b).toBeLessThanOrEqual(DEFAULT_OUTBOX.batchBytes ?? 0)
    await outbox.close()

    const h = rightOrThrow(await readEndpointHistory(deps, id)())
    expect(h.events.map((e) => e.event.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    const vendors = h.events.flatMap((e) => (e.event.type === 'TunnelEstablished' ? [e.event] : []))
    expect(vendors[0]?.peerHostName).toBe(text('h'))
    const cut = vendors.filter((e) => e.localTunnelId % 10 === 0)
    expect(cut).toHaveLength(tunnels / 10)
    for (const e of cut) {
      expect(Buffer.byteLength(e.peerVendorName ?? '')).toBeLessThanOrEqual(EVENT_TEXT_MAX_BYTES)
      expect(e.peerVendorName).toMatch(/…\[truncated \d+ bytes\]$/)
    }
    expect(ep.truncatedTexts).toBe(tunnels / 10)
  })
})
