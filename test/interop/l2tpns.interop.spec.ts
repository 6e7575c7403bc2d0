// Interop with a real l2tpns (Debian package) running in a network namespace this test creates
// (it needs a tun device and an address of its own). Our LAC opens a tunnel with challenge
// authentication and sessions toward it; the sessions stay up. If l2tpns cannot run here, the
// test fails with the reason: it never passes silently.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type L2tpEvent, unsafe } from '../../contracts/index.js'
import type { Effect } from '../../nodes/engine/types.js'
import { UdpEndpoint } from '../../nodes/shell/udp-endpoint.js'
import { createNetns, type Netns } from '../support/netns.js'
import { engineConfig } from '../support/sim.js'
import { decodeCapture, startCapture } from '../support/tshark.js'

const L2TPNS = '/usr/sbin/l2tpns'
const secret = { ref: 'lab', secret: new TextEncoder().encode('s3cret') }

let ns: Netns | undefined
let l2tpns: ChildProcess | undefined
let dir = ''
const log = () => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '(no l2tpns log)')

beforeAll(async () => {
  if (!existsSync(L2TPNS))
    throw new Error(`l2tpns cannot run here: ${L2TPNS} is missing (apt-get install l2tpns)`)
  if (!existsSync('/dev/net/tun')) throw new Error('l2tpns cannot run here: /dev/net/tun is missing')
  ns = createNetns(7)
  dir = mkdtempSync(join(tmpdir(), 'l2tpns-'))
  writeFileSync(
    join(dir, 'startup-config'),
    [
      'set debug 3',
      `set log_file "${join(dir, 'log')}"`,
      `set pid_file "${join(dir, 'pid')}"`,
      'set l2tp_secret "s3cret"',
      `set bind_address ${ns.nsAddress}`,
      'set cli_bind_address 127.0.0.1',
      'set ppp_keepalive no',
      // A lone l2tpns serves no tunnel until it has elected itself cluster master, which by
      // default takes 15 s of missed heartbeats; 2 s here, and beforeAll waits for the election.
      'set cluster_hb_interval 5',
      'set cluster_hb_timeout 20',
      '',
    ].join('\n'),
  )
  const [cmd, ...args] = ns.exec([L2TPNS, '-c', join(dir, 'startup-config')])
  // Own process group: l2tpns signals its whole group when it shuts down.
  l2tpns = spawn(cmd as string, args, { stdio: 'ignore', cwd: dir, detached: true })
  const until = Date.now() + 30_000
  while (!log().includes('I am declaring myself the master')) {
    if (Date.now() > until || l2tpns.exitCode !== null)
      throw new Error(`l2tpns cannot run here; its log:\n${log()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
})

afterAll(async () => {
  if (l2tpns !== undefined && l2tpns.exitCode === null) {
    const exited = new Promise((r) => l2tpns?.once('exit', r))
    l2tpns.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    l2tpns.kill('SIGKILL')
  }
  ns?.destroy()
})

const waitFor = async (what: string, cond: () => boolean, ms = 15_000) => {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}; l2tpns log tail:\n${log().slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('interop with l2tpns (in its own network namespace)', () => {
  it('our LAC toward l2tpns: challenge authentication, tunnel and sessions up, and they stay up', async () => {
    if (ns === undefined) throw new Error('no namespace')
    const events: L2tpEvent[] = []
    const effects: Effect[] = []
    const lac = new UdpEndpoint(
      engineConfig({
        role: 'LAC',
        hostName: 'ours-lac',
        secretFor: () => secret,
        challenge: true,
        hide: new Set(['assignedSessionId', 'callSerialNumber']),
      }),
      { host: ns.hostAddress, port: unsafe.port(1701) },
      { endpointId: unsafe.endpointId('lac-l2tpns'), nodeId: unsafe.nodeId('node-1'), epoch: 1 },
      { onEvent: (e) => events.push(e), onEffect: (f) => effects.push(f) },
    )
    await lac.start()
    const capture = await startCapture('udp port 1701', ns.hostInterface)
    try {
      lac.input({ _tag: 'OpenTunnel', peer: { host: ns.nsAddress, port: unsafe.port(1701) } })
      await waitFor('tunnel', () => events.some((e) => e.type === 'TunnelEstablished'))
      expect(events[0]).toMatchObject({ type: 'TunnelEstablished', authenticated: true })
      const tid = [...lac.engine.tunnels.keys()][0] as number
      for (let i = 0; i < 5; i++) lac.input({ _tag: 'OpenSession', tunnelId: tid, direction: 'incoming' })
      await waitFor('sessions', () => events.filter((e) => e.type === 'SessionEstablished').length === 5)
      // They stay up: l2tpns starts PPP on them (data messages arrive) and sends no CDN.
      await new Promise((r) => setTimeout(r, 3000))
      expect(events.filter((e) => e.type === 'SessionClosed' || e.type === 'TunnelClosed')).toEqual([])
      expect(lac.table.tunnels.get(tid)?.sessions.size).toBe(5)
      expect(lac.engine.stats.dataMessages).toBeGreaterThan(0)
      expect(lac.engine.stats.malformed).toBe(0)
      await capture.stop()
      const ours = decodeCapture(capture.file, ns.hostAddress)
      expect(ours.l2tpPackets).toBeGreaterThan(0)
      expect(ours.errors).toEqual([])
    } finally {
      await capture.stop()
      await lac.stop()
    }
  }, 60_000)
})
