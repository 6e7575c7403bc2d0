// README.md's walkthrough, run as written: every ```bash block after a `<!-- walkthrough -->`
// line, in order, as one bash script with `set -euo pipefail` on the configs of examples/ and the
// brokers of the test run. What it shows must hold (the fleet agrees, the LAC keeps its
// sessions through a switchover, a takeover and a crash, the forensics answer), it stops every
// program it started and writes nothing outside .demo/. So the README cannot drift.
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { walkthroughScript } from '../support/walkthrough.js'

const gitStatus = (): Set<string> =>
  new Set(
    execFileSync('git', ['status', '--porcelain', '--ignored'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== ''),
  )

const run = (file: string): Promise<{ code: number; out: string }> =>
  new Promise((resolve) => {
    execFile('bash', [file], { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, out: `${stdout}\n--- stderr ---\n${stderr}` })
    })
  })

describe('README.md walkthrough', () => {
  const script = walkthroughScript(readFileSync('README.md', 'utf8'))

  it('is there, on the configs of examples/', () => {
    expect(script).toContain('examples/lns1.json')
    expect(script).toContain('examples/lns2.json')
    expect(script).toContain('examples/lac.json')
    expect(script).toContain('kill -9 $LNS1')
  })

  it('runs as written and shows what it says', async () => {
    const before = gitStatus()
    const file = join(mkdtempSync(join(tmpdir(), 'walkthrough-')), 'walkthrough.sh')
    writeFileSync(
      file,
      [
        'set -euo pipefail',
        // A failed step must not leave the lab running; the check below runs before this trap.
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
        `cd ${JSON.stringify(process.cwd())}`,
        script,
        'for p in $REG $LNS1 $LNS2 $LAC; do if kill -0 $p 2>/dev/null; then echo "LEFT RUNNING $p"; fi; done',
        'echo WALKTHROUGH-DONE',
      ].join('\n'),
    )
    const { code, out } = await run(file)
    expect(code, out).toBe(0)
    expect(out).toContain('WALKTHROUGH-DONE')
    expect(out).not.toContain('LEFT RUNNING')
    // The fleet before: lab-1 owns lab-a, lab-2 stands by, everything agrees.
    expect(out).toMatch(/lab-a\s+lab-1 e\d+\s+lab-1 e\d+\s+lab-2\s+ok\s+yes/)
    expect(out).toMatch(/lab-a\s+LNS\s+\d+\s+20\s+100\s+no \(drain\)/)
    // After the crash of lab-1: lab-2 owns it, the registry agrees, the LAC kept every session.
    expect(out).toMatch(/lab-a\s+lab-2 e\d+\s+lab-2 e\d+\s+-\s+ok\s+yes/)
    expect(out).toContain('l2tp_tunnels{endpoint="lab-lac"} 20')
    expect(out).toContain('l2tp_sessions{endpoint="lab-lac"} 100')
    // Forensics.
    expect(out).toMatch(/@\d+\s+e\d+#\d+\s+TunnelEstablished/)
    expect(out).toMatch(/@\d+\s+e\d+#\d+\s+TunnelRecovered/)
    expect(out).toMatch(/0 tunnels, 0 sessions/)
    expect(out).toMatch(
      /endpoint lab-a\s+epoch \d+\s+owner lab-2\s+active\s+consistent\n20 tunnels, 100 sessions/,
    )
    expect(out).toContain('lab-a: tunnels +20 -0 ~0; sessions +100 -0 ~0')
    const added = [...gitStatus()].filter((l) => !before.has(l) && l !== '!! .demo/')
    expect(added).toEqual([])
  }, 620_000)
})
