// npm run drill -- NAME [--trials N] [--tunnels N] [--sessions M]: one fault drill on the
// clustered infra (infra/up --cluster, started when needed and stopped after); prints a table
// and writes bench/results/drill-NAME.json. Not part of npm test (docs/drills.md).
import { floodDrill } from './flood.js'
import { kafkaBrokerDrill } from './kafka-broker.js'
import { killLoop } from './kill-loop.js'
import { natsServerDrill } from './nats-server.js'
import { partitionDrill } from './partition.js'
import { zombieDrill } from './zombie.js'

const drills: Record<string, (argv: readonly string[]) => Promise<void>> = {
  'kill-loop': killLoop,
  'kafka-broker': kafkaBrokerDrill,
  'nats-server': natsServerDrill,
  partition: partitionDrill,
  zombie: zombieDrill,
  flood: floodDrill,
}

const name = process.argv[2]
const drill = name === undefined ? undefined : drills[name]
if (drill === undefined) {
  console.error(`usage: npm run drill -- <${Object.keys(drills).join('|')}> [--trials N]`)
  process.exit(2)
}
drill(process.argv.slice(3)).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`drill ${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    process.exit(1)
  },
)
