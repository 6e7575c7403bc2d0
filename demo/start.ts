// npm start: the live fleet failover demo. Brings up Kafka and NATS (infra/, reusing running
// ones), the registry, two --ha LNS nodes and a standby, and two LAC simulators; SIGKILLs the
// owner of lns-a and shows the standby taking over with RFC 4951 recovery; prints a summary.
// Drives the programs through their CLIs, /metrics and l2tpctl only. Shell.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { down, up } from '../infra/cli.js'
import { kafkaBrokers } from '../infra/config.js'
import { clusterDown, clusterUp } from './brokers.js'
import { type Demo, type Names, runDemo } from './scenario.js'
import { Screen } from './screen.js'

const HELP = `npm start [-- OPTIONS]: a live fleet failover demo

Brings up Kafka and NATS (infra/up; brokers already running are reused), the registry, two LNS
endpoints (lns-a on node-1, lns-b on node-2, both --ha) plus a standby node-3 for both, and two
LAC simulators holding tunnels and sessions with RFC 4951 failover. Then it SIGKILLs node-1,
shows node-3 taking lns-a over and recovering every tunnel with the LAC, and prints a summary:
sessions before and after, detection, rehydration and recovery times, the fleet view
(l2tpctl fleet) and a forensic timeline of one recovered tunnel.

Options:
  --tunnels N    tunnels in all, split between lns-a and lns-b (default 300)
  --sessions M   sessions per tunnel (default 10)
  --cluster      run on the clustered infra (infra/up --cluster: 3 Kafka brokers, 3 NATS servers)
  --keep         leave the fleet running afterwards to explore with l2tpctl (prints how to stop it)
  --detection-ms MS
                 the standby's detection time, given to the nodes and the registry (default: theirs)
  --help         this text

Files (configs, logs, pids) go to .demo/<run>/ (git-ignored). Ctrl-C stops everything the demo
started, at any moment; a second Ctrl-C kills at once. Exit 0 when every session was preserved.`

class Usage extends Error {}

const root = dirname(dirname(fileURLToPath(import.meta.url)))

const int = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new Usage(`--${name} must be a whole number in ${min}..${max}, got '${v}'`)
  return n
}

const options = () => {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          tunnels: { type: 'string' },
          sessions: { type: 'string' },
          cluster: { type: 'boolean' },
          keep: { type: 'boolean' },
          'detection-ms': { type: 'string' },
          help: { type: 'boolean' },
        },
        strict: true,
      })
    } catch (e) {
      throw new Usage(`${e instanceof Error ? e.message : String(e)} (see --help)`)
    }
  })()
  const tunnels = int('tunnels', values.tunnels, 300, 2, 20_000)
  const sessions = int('sessions', values.sessions, 10, 1, 1000)
  if (tunnels * sessions > 200_000) throw new Usage('--tunnels x --sessions must be at most 200000')
  const detectionMs =
    values['detection-ms'] === undefined
      ? null
      : int('detection-ms', values['detection-ms'], 0, 1001, 600_000)
  return {
    help: values.help === true,
    tunnels,
    sessions,
    cluster: values.cluster === true,
    keep: values.keep === true,
    detectionMs,
  }
}

const names = (): Names => {
  const r = randomBytes(4)
  const tag = r.toString('hex').slice(0, 3)
  const a = 200 + ((r[2] ?? 0) % 50)
  const b = (r[3] ?? 0) % 250
  return {
    tag,
    prefix: `demo-${tag}.`,
    lacPrefix: `demo-${tag}-lac.`,
    base: `127.${a}.${b}.`,
    dir: join(root, '.demo', tag),
  }
}

/** NATS credentials of the caller would make every program log in as one identity: dropped. */
const childEnv = (n: Names, brokers: { kafka: string; nats: string } | null): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    L2TP_TOPIC_PREFIX: n.prefix,
    L2TP_SUBJECT_PREFIX: n.prefix,
  }
  for (const k of ['NATS_USER', 'NATS_PASS', 'NATS_NKEY', 'NATS_CREDS']) delete env[k]
  if (brokers !== null) {
    env.KAFKA_BROKERS = brokers.kafka
    env.NATS_URL = brokers.nats
  }
  return env
}

const main = async (): Promise<number> => {
  const o = options()
  if (o.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const n = names()
  mkdirSync(n.dir, { recursive: true })
  writeFileSync(join(n.dir, 'pids'), '')
  const screen = new Screen(process.stdout)
  const rel = relative(process.cwd(), n.dir) || '.'
  screen.line(`l2tp-registry demo, run ${n.tag}: files in ${rel}/ (configs, logs, pids)`)
  screen.line(
    o.cluster
      ? 'bringing up the clustered Kafka and NATS (infra/up --cluster) ...'
      : 'bringing up Kafka and NATS (infra/up; running ones are reused) ...',
  )
  const brokers = o.cluster
    ? clusterUp(root)
    : up().then((r) => ({ kafka: r.kafka, nats: r.nats, env: null }))
  const stopBrokers = async (): Promise<string> => {
    const b = await brokers.catch(() => null)
    if (b === null) return 'brokers: none started'
    if (o.keep) return `brokers: kafka ${b.kafka}, nats ${b.nats} (left running)`
    const started = { kafka: b.kafka === 'started', nats: b.nats === 'started' }
    if (!started.kafka && !started.nats) return 'brokers: reused, left running'
    if (o.cluster) await clusterDown(root)
    else await down(started)
    return `brokers: stopped what the demo started (${[started.kafka ? 'kafka' : '', started.nats ? 'nats' : ''].filter(Boolean).join(', ')})`
  }
  let demo: Demo | null = null
  let stopping: Promise<number> | null = null
  const stop = (why: string, code: number): Promise<number> => {
    stopping ??= (async () => {
      screen.freeze()
      screen.line(why)
      const said = demo === null ? 'processes: none started' : await demo.stop()
      screen.line(said)
      screen.line(await stopBrokers())
      return code
    })()
    return stopping
  }
  let interrupts = 0
  process.on('SIGINT', () => {
    interrupts++
    if (interrupts > 1) {
      demo?.killNow()
      process.exit(130)
    }
    void stop('Ctrl-C: stopping everything the demo started (Ctrl-C again to kill at once) ...', 130).then(
      (code) => process.stdout.write('', () => process.exit(code)),
    )
  })
  process.on('SIGTERM', () => {
    void stop('SIGTERM: stopping everything the demo started ...', 143).then((code) =>
      process.stdout.write('', () => process.exit(code)),
    )
  })
  const b = await brokers
  screen.line(
    `kafka ${b.kafka}, nats ${b.nats}${b.env === null ? ` (${kafkaBrokers().join(',')})` : ` (${b.env.kafka}; ${b.env.nats})`}`,
  )
  if (stopping !== null) return stopping
  demo = runDemo({
    root,
    names: n,
    env: childEnv(n, b.env),
    tunnels: o.tunnels,
    sessions: o.sessions,
    keep: o.keep,
    detectionMs: o.detectionMs,
    screen,
  })
  const ok = await demo.result
  if (stopping !== null) return stopping
  if (o.keep) {
    screen.line(demo.keepText())
    screen.line(
      b.kafka === 'started' || b.nats === 'started'
        ? '  then: infra/down   (the demo started the brokers)'
        : '',
    )
    return ok ? 0 : 1
  }
  return stop(ok ? 'done: stopping the fleet ...' : 'FAILED (see above): stopping the fleet ...', ok ? 0 : 1)
}

main().then(
  (code) => {
    process.exitCode = code
    process.stdout.write('', () => process.exit(code))
  },
  (e: unknown) => {
    const usage = e instanceof Usage
    process.stderr.write(`npm start: ${e instanceof Error ? e.message : String(e)}\n`, () =>
      process.exit(usage ? 2 : 1),
    )
  },
)
