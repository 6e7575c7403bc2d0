// Spawning the programs as an operator would run them: l2tp-node and l2tp-registry with a config
// file, their JSON log lines collected, their exit awaited; free TCP ports; /metrics and health.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../infra/proc.js'

export interface Program {
  readonly proc: ChildProcess
  readonly lines: string[]
  readonly stderr: () => string
  /** Resolves with the exit code (null: killed by a signal). */
  readonly exited: Promise<number | null>
}

export const spawnProgram = (
  script: 'nodes/cli/l2tp-node.ts' | 'registry/cli/l2tp-registry.ts',
  args: readonly string[],
  env: Record<string, string> = {},
): Program => {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let buf = ''
  let err = ''
  proc.stdout?.on('data', (b: Buffer) => {
    buf += b.toString()
    const parts = buf.split('\n')
    buf = parts.pop() ?? ''
    lines.push(...parts)
  })
  proc.stderr?.on('data', (b: Buffer) => {
    err += b.toString()
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return { proc, lines, stderr: () => err, exited }
}

export const writeConfig = (config: unknown): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'l2tp-cfg-')), 'node.json')
  writeFileSync(file, JSON.stringify(config))
  return file
}

export { freePort }

export const httpGet = async (port: number, path: string): Promise<{ status: number; body: string }> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: r.status, body: await r.text() }
  } catch {
    return { status: 0, body: '' }
  }
}

/** `promtool check metrics` over a scrape: its exit code and what it printed. */
export const promtoolCheck = (scrape: string): Promise<{ code: number; output: string }> =>
  new Promise((resolve) => {
    const p = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) =>
      resolve({
        code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1,
        output: stdout + stderr,
      }),
    )
    p.stdin?.end(scrape)
  })
