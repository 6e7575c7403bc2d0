// The clustered infra of the demo (--cluster): `infra/up --cluster` starts (or reuses) 3 Kafka
// brokers and 3 NATS servers and prints where they are (KAFKA_BROKERS=..., NATS_URL=... lines);
// `infra/down --cluster` stops what it started. Shell.
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
  const kafka = /KAFKA_BROKERS=['"]?([^\s'"]+)/.exec(out)?.[1]
  const nats = /NATS_URL=['"]?([^\s'"]+)/.exec(out)?.[1]
  if (kafka === undefined || nats === undefined)
    throw new Error(`infra/up --cluster printed no KAFKA_BROKERS=... and NATS_URL=... lines:\n${out}`)
  const outcome = (what: string) =>
    new RegExp(`${what}[^\\n]*started`, 'i').test(out) ? ('started' as const) : ('reused' as const)
  return { kafka: outcome('kafka'), nats: outcome('nats'), env: { kafka, nats } }
}

export const clusterUp = async (root: string): Promise<Brokers> =>
  parseClusterUp(await run(root, ['--cluster']))

export const clusterDown = (root: string): Promise<void> =>
  new Promise((resolve) => {
    execFile(join(root, 'infra', 'down'), ['--cluster'], { cwd: root, timeout: 120_000 }, () => resolve())
  })
