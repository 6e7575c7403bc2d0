// Runs a real xl2tpd for interop tests: a config in a temp dir, foreground (-D), its own
// pid and control files. Stops it with the signal the test asks for.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Xl2tpd {
  readonly dir: string
  readonly pid: number
  readonly log: () => string
  readonly control: (line: string) => void
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
}

export const XL2TPD = '/usr/sbin/xl2tpd'

export const startXl2tpd = async (opts: {
  listen: string
  secret: string
  sections: string
  /** Debug logging of AVPs, packets, states and tunnels (tests read it); off for benchmarks. */
  debug?: boolean
}): Promise<Xl2tpd> => {
  const debug = opts.debug ?? true
  const dir = mkdtempSync(join(tmpdir(), 'xl2tpd-'))
  writeFileSync(join(dir, 'l2tp-secrets'), `* * ${opts.secret}\n`)
  writeFileSync(join(dir, 'options'), 'noauth\n')
  writeFileSync(
    join(dir, 'xl2tpd.conf'),
    [
      '[global]',
      `listen-addr = ${opts.listen}`,
      'port = 1701',
      `auth file = ${join(dir, 'l2tp-secrets')}`,
      'access control = no',
      `debug avp = ${debug ? 'yes' : 'no'}`,
      `debug network = ${debug ? 'yes' : 'no'}`,
      `debug state = ${debug ? 'yes' : 'no'}`,
      `debug tunnel = ${debug ? 'yes' : 'no'}`,
      '',
      opts.sections.replaceAll('$DIR', dir),
    ].join('\n'),
  )
  const control = join(dir, 'control')
  let out = ''
  const child: ChildProcess = spawn(
    XL2TPD,
    ['-D', '-c', join(dir, 'xl2tpd.conf'), '-p', join(dir, 'pid'), '-C', control],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let ready = false
  // Without debug, nothing is kept after start-up (a benchmark must not pay for the log).
  const take = (b: Buffer) => {
    if (debug || !ready) out += b.toString()
  }
  child.stdout?.on('data', take)
  child.stderr?.on('data', take)
  const until = Date.now() + 10_000
  while (!out.includes('Listening on IP address')) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`xl2tpd did not start:\n${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  ready = true
  return {
    dir,
    pid: child.pid as number,
    log: () => out,
    control: (line) => writeFileSync(control, `${line}\n`),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill(signal)
      await exited
    },
  }
}
