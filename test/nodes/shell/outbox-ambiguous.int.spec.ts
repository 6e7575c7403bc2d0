// The outbox after an ambiguous append on the real broker (issue 12, the cluster e2e's
// duplicates): a transaction that committed but whose answer was lost (a broker killed
// mid-commit) is not sent again. The writer here commits for real, then reports a failure, as
// kafkajs does when the commit response never comes; the outbox reopens its writer, reads the
// partition read-committed from its last known offset and skips what landed. Another append
// fails before sending anything: that one is sent again. The log ends with every seq once.
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import type { L2tpEvent, TopicNames } from '../../../contracts/index.js'
import { Outbox } from '../../../nodes/shell/outbox.js'
import {
  type EndpointWriter,
  type EventLogDeps,
  type InfraError,
  openEndpointWriter,
  readEndpointHistory,
} from '../../../registry/shell/index.js'
import { eventLogDeps, freshTopics, rightOrThrow } from '../../support/brokers.js'
import { waitFor } from '../../support/churn.js'
import { history } from '../../support/history.js'

let names: TopicNames
let deps: EventLogDeps
beforeAll(async () => {
  names = await freshTopics(3)
  deps = eventLogDeps(names, 'outbox-ambiguous')
})

describe('outbox after an ambiguous append (real Kafka)', () => {
  it('a commit whose answer was lost is not sent again; a send that failed is: every seq once, in order', async () => {
    const id = `oa-${Math.random().toString(36).slice(2, 8)}`
    const events = [...history({ endpointId: id, events: 2000, seed: 5, maxTunnels: 30 })]
    // Also another endpoint writing to the partitions meanwhile, so the scan has others' records.
    const other = `oa-other-${Math.random().toString(36).slice(2, 8)}`
    const otherWriter = rightOrThrow(await openEndpointWriter(deps, other)())
    const otherEvents = [...history({ endpointId: other, events: 400, seed: 6 })]
    let appends = 0
    let opens = 0
    const open = () => async (): Promise<E.Either<InfraError, EndpointWriter>> => {
      opens++
      const w = await openEndpointWriter(deps, id)()
      if (E.isLeft(w)) return w
      const real = w.right
      return E.right({
        ...real,
        append: (batch: readonly L2tpEvent[]) => async () => {
          const n = appends++
          if (n % 7 === 3)
            return E.left<InfraError>({ _tag: 'KafkaFailed', op: 'append', detail: 'refused before sending' })
          const r = await real.append(batch)()
          const slice = otherEvents.splice(0, 20)
          if (slice.length > 0) rightOrThrow(await otherWriter.append(slice)())
          if (E.isRight(r) && n % 5 === 1)
            return E.left<InfraError>({ _tag: 'KafkaFailed', op: 'append', detail: 'commit answer lost' })
          return r
        },
      })
    }
    const o = new Outbox(
      open,
      { capacity: 10_000, highWater: 9_000, batch: 100 },
      {
        onPressure: () => undefined,
        onFenced: () => undefined,
        log: () => undefined,
      },
    )
    for (const e of events) o.push(e)
    await waitFor('the outbox to drain', () => o.pending === 0, 120_000)
    await o.close()
    await otherWriter.close()
    expect(o.recoveredAfterAmbiguous).toBeGreaterThan(0)
    expect(opens).toBeGreaterThan(2)
    expect(o.appended).toBe(events.length)
    const h = rightOrThrow(await readEndpointHistory(deps, id)())
    expect(h.events.map((e) => e.event.seq)).toEqual(events.map((e) => e.seq))
  })
})
