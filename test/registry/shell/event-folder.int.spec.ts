// Real Kafka: malformed records on l2tp.events go to l2tp.events.dead with partition, offset
// and reason, and the fold goes on with the next good event.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeadLetter, encodeEvent, type TopicNames } from '../../../contracts/index.js'
import { type EventFolder, startEventFolder } from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics } from '../../support/brokers.js'
import { history } from '../../support/history.js'

const waitFor = async (cond: () => boolean, ms = 30_000): Promise<void> => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

let names: TopicNames
let folder: EventFolder | undefined
beforeAll(async () => {
  names = await freshTopics(3)
})
afterAll(async () => {
  await folder?.stop()
})

describe('event folder with dead letters', () => {
  it('sends undecodable records to the dead-letter topic with partition, offset and reason, and folds on', async () => {
    const deps = eventLogDeps(names)
    const producer = deps.kafka.producer()
    await producer.connect()
    const events = [...history({ endpointId: 'lns-dlq', events: 6, seed: 4 })]
    const good = (i: number) => ({
      key: 'lns-dlq',
      value: encodeEvent(events[i] as (typeof events)[number]),
      partition: 0,
    })
    await producer.send({
      topic: names.events,
      messages: [
        good(0),
        good(1),
        { key: 'lns-dlq', value: '{"type":"TunnelEstablished","v":1,"endpointId":"lns-dlq"', partition: 0 }, // cut JSON
        { key: 'lns-dlq', value: JSON.stringify({ ...events[2], localTunnelId: 0 }), partition: 0 }, // bad id
        { key: 'someone-else', value: encodeEvent(events[2] as (typeof events)[number]), partition: 0 }, // wrong key
        good(2),
        good(3),
        good(4),
        good(5),
      ],
    })
    await producer.disconnect()

    const dead: DeadLetter[] = []
    const dlqConsumer = deps.kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` })
    await dlqConsumer.connect()
    await dlqConsumer.subscribe({ topic: names.dead, fromBeginning: true })
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        const d = DeadLetter.decode(JSON.parse(message.value?.toString() ?? 'null'))
        if (d._tag === 'Right') dead.push(d.right)
      },
    })

    folder = await startEventFolder(deps, { groupId: `folder-${randomUUID()}`, fromBeginning: true })
    const f = folder
    await waitFor(() => f.stats.events === 6 && dead.length === 3)
    await dlqConsumer.disconnect()

    expect(f.stats.deadLetters).toBe(3)
    const table = f.fleet.get('lns-dlq')
    expect(table?.seq).toBe(6)
    expect(table?.consistent).toBe(true)
    expect(dead.map((d) => [d.partition, d.offset])).toEqual([
      [0, '2'],
      [0, '3'],
      [0, '4'],
    ])
    expect(dead[0]?.reason).toMatch(/not JSON/)
    expect(dead[1]?.reason).toContain('at .localTunnelId: expected TunnelId, got 0')
    expect(dead[2]?.reason).toContain('record key "someone-else" differs from endpointId lns-dlq')
    expect(dead.every((d) => d.topic === names.events)).toBe(true)
    // Raw bytes are kept, so nothing is lost: the cut JSON comes back byte for byte.
    expect(Buffer.from(dead[0]?.rawBase64 ?? '', 'base64').toString()).toBe(
      '{"type":"TunnelEstablished","v":1,"endpointId":"lns-dlq"',
    )
  })
})
