// The processes of the demo: each program a detached child (its own process group, so a Ctrl-C
// at the terminal reaches the demo only and the demo stops them in order), its output in a log
// file of the run folder, its pid in <run>/pids. Metrics scraped over HTTP. Shell.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../infra/proc.js'
import { parseMetrics, type Sample } from './prom.js'

export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly log: string
  readonly metricsPort: number | null
  exit: { code: number | null; signal: string | null } | null
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export { freePort }

export class Fleet {
  readonly procs = new Map<string, Proc>()
  private closing = false

  constructor(
    readonly root: string,
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts `node --import tsx SCRIPT ARGS` as `name` (refused once stopping began). */
  start(
    name: string,
    script: string,
    args: readonly string[],
    metricsPort: number | null = null,
    env: NodeJS.ProcessEnv = this.env,
  ): Proc {
    if (this.closing) throw new Error('stopping')
    const log = join(this.dir, `${name}.log`)
    const fd = openSync(log, 'a')
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: this.root,
      env,
      detached: true,
      stdio: ['ignore', fd, fd],
    })
    closeSync(fd)
    child.unref()
    const p: Proc = { name, child, log, metricsPort, exit: null }
    child.on('exit', (code, signal) => {
      p.exit = { code, signal }
    })
    if (child.pid !== undefined) appendFileSync(join(this.dir, 'pids'), `${child.pid} ${name}\n`)
    this.procs.set(name, p)
    return p
  }

  running(name: string): boolean {
    const p = this.procs.get(name)
    return p !== undefined && p.exit === null
  }

  /** A process that ended when it should not have: its name, exit and last log line. */
  casualty(except: ReadonlySet<string>): string | null {
    for (const p of this.procs.values())
      if (p.exit !== null && !except.has(p.name)) {
        const last = lastLines(p.log, 1)[0] ?? ''
        return `${p.name} exited (${p.exit.signal ?? `code ${p.exit.code}`}): ${last} (log: ${p.log})`
      }
    return null
  }

  kill(name: string, signal: NodeJS.Signals): void {
    const p = this.procs.get(name)
    if (p !== undefined && p.exit === null) p.child.kill(signal)
  }

  /** The samples of `name`'s /metrics, or null when it does not answer. */
  async scrape(name: string): Promise<readonly Sample[] | null> {
    const p = this.procs.get(name)
    if (p === undefined || p.metricsPort === null || p.exit !== null) return null
    try {
      const r = await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`, {
        signal: AbortSignal.timeout(2000),
      })
      return r.ok ? parseMetrics(await r.text()) : null
    } catch {
      return null
    }
  }

  /**
   * Stops every process, in groups (first the first group, and so on): SIGTERM (a graceful stop),
   * then SIGKILL what is still running after `graceMs`. With `now`, SIGKILL at once.
   */
  async stop(groups: ReadonlyArray<readonly string[]>, graceMs: number, now = false): Promise<void> {
    this.closing = true
    const rest = [...this.procs.keys()].filter((n) => !groups.some((g) => g.includes(n)))
    for (const group of [...groups, rest]) {
      const live = group.filter((n) => this.running(n))
      for (const n of live) this.kill(n, now ? 'SIGKILL' : 'SIGTERM')
      const until = Date.now() + graceMs
      while (live.some((n) => this.running(n)) && Date.now() < until) await sleep(50)
      for (const n of live) this.kill(n, 'SIGKILL')
      while (live.some((n) => this.running(n))) await sleep(20)
    }
  }
}

export const lastLines = (file: string, n: number): string[] => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n)
  } catch {
    return []
  }
}

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program of the repo to its end (l2tpctl, infra/identity), bounded by `timeoutMs`. */
export const runToEnd = (
  root: string,
  env: NodeJS.ProcessEnv,
  file: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<Run> =>
  new Promise((resolve) => {
    const [cmd, argv] = file.endsWith('.ts')
      ? [process.execPath, ['--import', 'tsx', file, ...args]]
      : [file, [...args]]
    execFile(
      cmd,
      argv,
      { cwd: root, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })
