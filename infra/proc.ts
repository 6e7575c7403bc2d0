// Process helpers for infra: pid files, liveness, port probes, detached start, stop with grace.
// Shell code (spawns, signals, sockets); no domain logic.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { dirname } from 'node:path'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export const readPid = (file: string): number | null => {
  if (!existsSync(file)) return null
  const pid = Number(readFileSync(file, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : null
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A TCP port on 127.0.0.1 the kernel handed out a moment ago (asked for, then released). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })

export const portOpen = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ port, host })
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(1000, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })

/** Starts a long-lived process detached from us, output appended to logFile; returns its pid. */
export const startDetached = (cmd: string, args: string[], logFile: string, pidFile: string): number => {
  mkdirSync(dirname(logFile), { recursive: true })
  mkdirSync(dirname(pidFile), { recursive: true })
  const fd = openSync(logFile, 'a')
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`)
  child.unref()
  writeFileSync(pidFile, `${child.pid}\n`)
  return child.pid
}

/** SIGTERM, wait up to graceMs, then SIGKILL. Removes the pid file. */
export const stopPid = async (pid: number, pidFile: string, graceMs = 20_000): Promise<void> => {
  if (alive(pid)) {
    process.kill(pid, 'SIGTERM')
    const until = Date.now() + graceMs
    while (alive(pid) && Date.now() < until) await sleep(100)
    if (alive(pid)) process.kill(pid, 'SIGKILL')
    while (alive(pid)) await sleep(50)
  }
  rmSync(pidFile, { force: true })
}

export const tail = (file: string, lines = 40): string => {
  if (!existsSync(file)) return `(no log at ${file})`
  const all = readFileSync(file, 'utf8').split('\n')
  return all.slice(-lines).join('\n')
}

export const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0

export const run = (cmd: string, args: string[], cwd?: string): void => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...(cwd === undefined ? {} : { cwd }) })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${r.status}`)
}
