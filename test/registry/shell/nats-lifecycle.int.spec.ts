// Stops that cannot hang: a NATS server that stops answering (no PONG) must not hold a service
// stop or a connection drain forever (a node's graceful stop would never close its tunnels).
// The server here is a stand-in that speaks just enough of the protocol, not the broker.
import { connect } from 'nats'
import { afterEach, describe, expect, it } from 'vitest'
import { drainOrClose, request, settlesWithin, stopService } from '../../../registry/shell/index.js'
import { stallingServer } from '../../support/stalling-nats.js'

let cleanup: (() => Promise<void>) | null = null
afterEach(async () => {
  await cleanup?.()
  cleanup = null
})

describe('NATS stops with a silent server', () => {
  it('a service stop and a drain give up after their bound; the connection ends closed', async () => {
    const fake = await stallingServer()
    cleanup = fake.close
    const nc = await connect({ servers: `127.0.0.1:${fake.port}`, reconnect: false })
    const svc = await nc.services.add({ name: 'stall-test', version: '0.0.1' })
    svc.addEndpoint('x', { subject: 'stall.x', handler: () => undefined })
    fake.state.answering = false
    // Unbounded, the stop waits for a PONG that never comes.
    expect(await settlesWithin(svc.stop(), 300)).toBe(false)
    expect(await stopService(svc, 300)).toBe(false)
    await drainOrClose(nc, 300)
    expect(nc.isClosed()).toBe(true)
  })

  it('with a server that answers, a stop settles', async () => {
    const fake = await stallingServer()
    cleanup = fake.close
    const nc = await connect({ servers: `127.0.0.1:${fake.port}`, reconnect: false })
    const svc = await nc.services.add({ name: 'stall-test', version: '0.0.1' })
    expect(await stopService(svc, 5000)).toBe(true)
    await drainOrClose(nc, 5000)
    expect(nc.isClosed()).toBe(true)
  })

  it('a request that gets no reply in time is a Timeout (a NatsError, told apart by its code)', async () => {
    const fake = await stallingServer()
    cleanup = fake.close
    const nc = await connect({ servers: `127.0.0.1:${fake.port}`, reconnect: false })
    const r = await request(nc, 'nobody.home', { type: 'GetNodeStatus', v: 1 }, 200)()
    expect(r).toEqual({ _tag: 'Left', left: { _tag: 'Timeout', subject: 'nobody.home' } })
    await drainOrClose(nc, 1000)
  })
})
