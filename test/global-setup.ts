// Brings up real Kafka and NATS from infra/ once per test run; stops only what it started.
import { down, up } from '../infra/cli.js'

let started = { kafka: false, nats: false }

export async function setup(): Promise<void> {
  const r = await up()
  started = { kafka: r.kafka === 'started', nats: r.nats === 'started' }
  console.log(`[infra] kafka ${r.kafka}, nats ${r.nats}`)
}

export async function teardown(): Promise<void> {
  if (process.env.L2TP_KEEP_BROKERS === '1') return
  if (started.kafka || started.nats) await down(started)
}
