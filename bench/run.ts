// npm run bench -- NAME: runs one benchmark, prints a table, writes bench/results/NAME.json.

import { controlBench } from './control.js'
import { fleetBench } from './fleet.js'
import { recoveryBench } from './recovery.js'
import { rehydrateBench } from './rehydrate.js'
import { replayBench } from './replay.js'
import { setupBench } from './setup.js'

const benches: Record<string, () => Promise<void>> = {
  replay: replayBench,
  setup: setupBench,
  rehydrate: rehydrateBench,
  recovery: recoveryBench,
  control: controlBench,
  fleet: fleetBench,
}

const name = process.argv[2]
const bench = name === undefined ? undefined : benches[name]
if (bench === undefined) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`)
  process.exit(2)
}
bench().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  },
)
