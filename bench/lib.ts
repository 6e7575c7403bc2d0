// Shared bench plumbing: results JSON under bench/results/, a short table, RSS sampling.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Kafka } from 'kafkajs'
import type { TopicNames } from '../contracts/index.js'

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results')

export const writeResults = (name: string, figures: Record<string, number | string>): string => {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${name}.json`)
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`)
  return file
}

export const printTable = (title: string, rows: ReadonlyArray<readonly [string, string | number]>): void => {
  const w = Math.max(...rows.map(([k]) => k.length))
  console.log(`\n${title}`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${typeof v === 'number' ? fmt(v) : v}`)
}

const fmt = (n: number): string =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 })

/** Samples RSS every 50 ms until stopped; returns the peak in MiB. */
export const rssSampler = () => {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 50)
  return {
    stop: (): number => {
      clearInterval(timer)
      peak = Math.max(peak, process.memoryUsage().rss)
      return peak / (1024 * 1024)
    },
  }
}

export const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g === undefined) throw new Error('run the bench with node --expose-gc (npm run bench does)')
  g()
  g()
}

/** Deletes a benchmark's topics at the end of its run. */
export const dropTopics = async (kafka: Kafka, names: TopicNames): Promise<void> => {
  const admin = kafka.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: [names.events, names.snapshots, names.dead] }).catch(() => undefined)
  await admin.disconnect()
}
