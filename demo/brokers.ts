// The clustered infra of the demo (--cluster): `infra/up --cluster` starts (or reuses) 3 Kafka
// brokers and 3 NATS servers and prints where they are (`kafka started: HOST:PORT,...` and
// `nats  started: nats://...,...`, or KAFKA_BROKERS=... NATS_URL=... lines); the programs get
// them as KAFKA_BROKERS and NATS_URL, with L2TP_CLUSTER=1. `infra/down --cluster` stops what it
// started. Shell.
import { execFile } from 'node:child_process'
import { join } from 'node:path'

export interface Brokers {
  readonly kafka: 'started' | 'reused'
  readonly nats: 'started' | 'reused'
  /** Addresses for the programs (null: the single-node defaults of infra/config.ts). */
  readonly env: { readonly kafka: string; readonly nats: string } | null
}

const run = (root: string, args: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(join(root, 'infra', 'up'), [...args], { cwd: root, timeout: 600_000 }, (err, stdout, stderr) => {
      if (err !== null)
        reject(new Error(`infra/up ${args.join(' ')} failed: ${stderr.trim() || err.message}`))
      else resolve(stdout)
    })
  })

/** The addresses and outcome `infra/up --cluster` printed. */
export const parseClusterUp = (out: string): Brokers => {
  const line = (what: string) => new RegExp(`^${what}\\s+(started|reused):\\s+(\\S+)`, 'm').exec(out)
  const [k, n] = [line('kafka'), line('nats')]
  const kafka = /KAFKA_BROKERS=['"]?([^\s'"]+)/.exec(out)?.[1] ?? k?.[2]
  const nats = /NATS_URL=['"]?([^\s'"]+)/.exec(out)?.[1] ?? n?.[2]
  if (kafka === undefined || nats === undefined)
    throw new Error(`infra/up --cluster did not say where the brokers are:\n${out}`)
  const outcome = (m: RegExpExecArray | null) =>
    m?.[1] === 'started' ? ('started' as const) : ('reused' as const)
  return { kafka: outcome(k), nats: outcome(n), env: { kafka, nats } }
}

export const clusterUp = async (root: string): Promise<Brokers> => {
  // Infra's own settings in this process (identity grants) follow the cluster too.
  process.env.L2TP_CLUSTER = '1'
  return parseClusterUp(await run(root, ['--cluster']))
}

export const clusterDown = (root: string): Promise<void> =>
  new Promise((resolve) => {
    execFile(join(root, 'infra', 'down'), ['--cluster'], { cwd: root, timeout: 120_000 }, () => resolve())
  })
