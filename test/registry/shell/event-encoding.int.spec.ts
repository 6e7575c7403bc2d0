// Real Kafka: one partition holding JSON records of before and binary records of now, mixed.
// The live fold, the dead letters and the NDJSON export read both.
import { randomUUID } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DeadLetter,
  encodeEvent,
  encodeEventBinary,
  type L2tpEvent,
  type TopicNames,
} from '../../../contracts/index.js'
import { canonicalJson, replay } from '../../../registry/index.js'
import {
  type EventFolder,
  exportRange,
  replayNdjson,
  startEventFolder,
  toNdjson,
} from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics } from '../../support/brokers.js'
import { history } from '../../support/history.js'

const waitFor = async (cond: () => boolean, ms = 30_000): Promise<void> => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

const EP = 'lns-mixed'
let names: TopicNames
let folder: EventFolder | undefined
beforeAll(async () => {
  names = await freshTopics(1)
})
afterAll(async () => {
  await folder?.stop()
})

describe('JSON and binary records on one topic', () => {
  it('folds both into the table a replay gives, dead-letters bad binary records, exports NDJSON', async () => {
    const deps = eventLogDeps(names)
    const events = [...history({ endpointId: EP, events: 400, seed: 9 })]
    const bad = { ...(events[10] as L2tpEvent), localTunnelId: 0 } as L2tpEvent
    const cut = encodeEventBinary(events[11] as L2tpEvent).subarray(0, 9)
    const producer = deps.kafka.producer()
    await producer.connect()
    await producer.send({
      topic: names.events,
      messages: [
        // The first half as JSON (written before the binary encoding), the rest binary.
        ...events.slice(0, 200).map((e) => ({ key: EP, value: encodeEvent(e) })),
        { key: EP, value: encodeEventBinary(bad) },
        { key: EP, value: cut },
        ...events.slice(200).map((e) => ({ key: EP, value: encodeEventBinary(e) })),
      ],
    })
    await producer.disconnect()

    const dead: DeadLetter[] = []
    const dlq = deps.kafka.consumer({ groupId: `dlq-${randomUUID()}` })
    await dlq.connect()
    await dlq.subscribe({ topic: names.dead, fromBeginning: true })
    await dlq.run({
      eachMessage: async ({ message }) => {
        const d = DeadLetter.decode(JSON.parse(message.value?.toString() ?? 'null'))
        if (d._tag === 'Right') dead.push(d.right)
      },
    })
    folder = await startEventFolder(deps, { groupId: `folder-${randomUUID()}`, fromBeginning: true })
    const f = folder
    await waitFor(() => f.stats.events === 400 && dead.length === 2)
    await dlq.disconnect()

    const want = replay(events).get(EP)
    const got = f.fleet.get(EP)
    expect(want).toBeDefined()
    expect(got && canonicalJson(got)).toBe(want && canonicalJson(want))
    expect(dead.map((d) => d.offset)).toEqual(['200', '201'])
    expect(dead[0]?.reason).toContain('at .localTunnelId: expected TunnelId, got 0')
    expect(dead[1]?.reason).toContain('binary record')
    // The dead letter keeps the raw bytes, so the binary record can be read again later.
    expect(Buffer.from(dead[1]?.rawBase64 ?? '', 'base64')).toEqual(cut)

    const lines = await exportRange(deps, null, Number.MAX_SAFE_INTEGER)()
    if (E.isLeft(lines)) throw new Error(lines.left.detail)
    const ndjson = toNdjson(lines.right)
    expect(ndjson.split('\n').filter((l) => l !== '')).toHaveLength(400)
    for (const l of ndjson.split('\n').filter((x) => x !== '')) expect(() => JSON.parse(l)).not.toThrow()
    const offline = replayNdjson(ndjson).fleet.get(EP)
    expect(offline && canonicalJson(offline)).toBe(want && canonicalJson(want))
  })
})
