// `npm start` end to end at small scale, as a stranger runs it (stdout a pipe, not a TTY), on the
// brokers of the test run (reused, so left running): the summary says every session was
// preserved under a new epoch and shows the timeline of a recovered tunnel; afterwards no process
// it started runs and it wrote nothing outside .demo/. A Ctrl-C in the middle stops it all too.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = process.cwd()

/** Everything git sees in the checkout, ignored files included (one entry per ignored folder). */
const gitStatus = (): Set<string> =>
  new Set(
    execFileSync('git', ['status', '--porcelain', '--ignored'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== ''),
  )

interface Started {
  readonly child: ChildProcess
  readonly out: { text: string }
  readonly exit: Promise<{ code: number | null; signal: string | null }>
}

const npmStart = (args: readonly string[]): Started => {
  const out = { text: '' }
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the test's Ctrl-C goes to npm and the demo, as a terminal's would
  })
  child.stdout?.on('data', (b: Buffer) => {
    out.text += b.toString()
  })
  child.stderr?.on('data', (b: Buffer) => {
    out.text += b.toString()
  })
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, out, exit }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The pids the demo wrote to .demo/<run>/pids (every process it started). */
const pidsOf = (text: string): { dir: string; pids: number[] } => {
  const dir = /files in (\S+)\/ \(configs/.exec(text)?.[1]
  if (dir === undefined) throw new Error(`no run folder in the output:\n${text}`)
  const pids = readFileSync(join(ROOT, dir, 'pids'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(l.split(' ')[0]))
  return { dir, pids }
}

const newEntries = (before: Set<string>, after: Set<string>) => [...after].filter((l) => !before.has(l))

describe('npm start (the fleet failover demo)', () => {
  it('keeps every session through the SIGKILL of an owner, says so, and leaves nothing behind', async () => {
    const before = gitStatus()
    const run = npmStart(['--tunnels', '20', '--sessions', '4'])
    const { code } = await run.exit
    const text = run.out.text
    expect(code, text).toBe(0)
    // The summary.
    expect(text).toMatch(/sessions before the kill \(held by the LACs\)\s+80\n/)
    expect(text).toMatch(/sessions preserved\s+80 of 80 \(all\)/)
    const epochs = /lns-a: owner\s+node-1 epoch (\d+) -> node-3 epoch (\d+)/.exec(text)
    expect(epochs, text).not.toBeNull()
    expect(Number(epochs?.[2])).toBeGreaterThan(Number(epochs?.[1]))
    expect(text).toMatch(/detection \(kill -> standby holds the lease\)\s+\d+\.\d+ s/)
    expect(text).toMatch(/rehydration \(lease -> serving, table from Kafka\)\s+\d+\.\d+ s/)
    expect(text).toMatch(/all 10 tunnels recovered\)\s+\d+\.\d+ s \(10 of 10 recovered\)/)
    // The fleet view: both endpoints agree, lns-a with node-3 at the new epoch.
    const fleet = text.slice(text.indexOf('fleet view'), text.indexOf('forensic timeline'))
    expect(fleet).toMatch(
      new RegExp(`lns-a-\\w+\\s+node-3-\\w+ e${epochs?.[2]}\\s+node-3-\\w+ e${epochs?.[2]}.*yes`),
    )
    expect(fleet).toMatch(/lns-b-\w+\s+node-2-\w+ e1\s+node-2-\w+ e1\s+node-3-\w+.*yes/)
    expect(fleet).not.toMatch(/\bNO\b/)
    // The timeline excerpt, with the command that produced it.
    const timeline = text.slice(text.indexOf('forensic timeline'))
    expect(timeline).toMatch(/npm run -s l2tpctl -- timeline --tunnel lns-a-\w+\/\d+\):/)
    expect(timeline).toMatch(/@\d+\s+e1#\d+\s+TunnelEstablished/)
    expect(timeline).toMatch(new RegExp(`@\\d+\\s+e${epochs?.[2]}#\\d+\\s+TunnelRecovered`))
    // Nothing left: no process, no file outside .demo/.
    const { dir, pids } = pidsOf(text)
    expect(dir).toMatch(/^\.demo\/\w+$/)
    expect(pids.length).toBe(6)
    expect(pids.filter(alive)).toEqual([])
    expect(newEntries(before, gitStatus()).filter((l) => l !== '!! .demo/')).toEqual([])
  }, 480_000)

  it('stops everything it started on Ctrl-C in the middle of the run', async () => {
    const before = gitStatus()
    const run = npmStart(['--tunnels', '4', '--sessions', '2'])
    const end = Date.now() + 120_000
    while (!run.out.text.includes('node-3 stands by') && Date.now() < end && run.child.exitCode === null)
      await new Promise((r) => setTimeout(r, 100))
    expect(run.out.text).toContain('node-3 stands by')
    process.kill(-(run.child.pid ?? 0), 'SIGINT')
    const { code, signal } = await run.exit
    const text = run.out.text
    expect(text).toContain('Ctrl-C: stopping everything the demo started')
    expect(code ?? signal, text).not.toBe(0)
    const { pids } = pidsOf(text)
    expect(pids.length).toBeGreaterThanOrEqual(4)
    expect(pids.filter(alive)).toEqual([])
    expect(newEntries(before, gitStatus()).filter((l) => l !== '!! .demo/')).toEqual([])
  }, 300_000)
})
