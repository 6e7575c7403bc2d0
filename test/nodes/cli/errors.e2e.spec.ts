// The programs' operational failures as an operator meets them: one clear line on stderr, the
// documented exit code (1 runtime, 2 bad arguments or config), never a stack trace.
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { CONFIG_KEYS } from '../../../nodes/cli/config.js'
import { freePort, spawnProgram, writeConfig } from '../../support/spawn.js'

const config = (over: Record<string, unknown> = {}, host = '127.0.0.185') => ({
  nodeId: 'err-node',
  endpoints: [{ id: 'err-lns', role: 'LNS', address: { host, port: 1701 }, ...over }],
})

const run = async (
  script: 'nodes/cli/l2tp-node.ts' | 'registry/cli/l2tp-registry.ts',
  args: string[],
  env: Record<string, string> = {},
) => {
  const p = spawnProgram(script, args, env)
  const code = await p.exited
  return { code, stderr: p.stderr(), stdout: p.lines.join('\n') }
}

const node = (args: string[], env: Record<string, string> = {}) => run('nodes/cli/l2tp-node.ts', args, env)

/** Exactly one line, prefixed with the program's name, and no stack frame. */
const oneLine = (stderr: string, program: string, want: RegExp) => {
  expect(stderr).toMatch(new RegExp(`^${program}: [^\\n]+\\n$`))
  expect(stderr).not.toMatch(/\n\s+at /)
  expect(stderr).toMatch(want)
}

describe('l2tp-node: bad arguments and config exit 2 with one line', () => {
  it('an unknown config key, named with its path', async () => {
    const r = await node(['--config', writeConfig(config({ sercrets: [] }))])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('l2tp-node: invalid config: at .endpoints.0.sercrets: unknown key\n')
  })

  it.each([
    ['--detection-ms 0', ['--ha', '--publish', '--detection-ms', '0'], /--detection-ms must be/],
    ['--metrics-port 70000', ['--metrics-port', '70000'], /--metrics-port must be/],
    ['--ha without --publish', ['--ha'], /--ha needs --publish/],
    ['an unknown option', ['--metrics-prot', '1'], /Unknown option '--metrics-prot'/],
    ['--simulate on an LNS', ['--simulate', 'err-lns', '--peer', '127.0.0.1'], /role LAC/],
  ])('%s', async (_name, args, want) => {
    const r = await node(['--config', writeConfig(config()), ...args])
    expect(r.code).toBe(2)
    oneLine(r.stderr, 'l2tp-node', want)
  })

  it('an empty endpoint list', async () => {
    const r = await node(['--config', writeConfig({ nodeId: 'err-node', endpoints: [] })])
    expect(r.code).toBe(2)
    oneLine(r.stderr, 'l2tp-node', /at \.endpoints: at least one endpoint/)
  })

  it('--help lists every config key and exits 0', async () => {
    const r = await node(['--help'])
    expect(r.code).toBe(0)
    for (const key of [...CONFIG_KEYS.node, ...CONFIG_KEYS.endpoint]) expect(r.stdout).toContain(key)
    for (const knob of ['capacity', 'highWater', 'renewMs', 'detectionMs', '--stop-timeout-ms'])
      expect(r.stdout).toContain(knob)
  })
})

describe('l2tp-node: operational failures exit 1 with one line', () => {
  it('the endpoint address is in use', async () => {
    const s = createSocket('udp4')
    await new Promise<void>((r) => s.bind(1701, '127.0.0.186', () => r()))
    try {
      const r = await node(['--config', writeConfig(config({}, '127.0.0.186'))])
      expect(r.code).toBe(1)
      oneLine(r.stderr, 'l2tp-node', /endpoint err-lns \(127\.0\.0\.186:1701\): address in use/)
    } finally {
      s.close()
    }
  })

  it('the endpoint host is not found', async () => {
    const r = await node(['--config', writeConfig(config({}, 'no-such-host.invalid'))])
    expect(r.code).toBe(1)
    oneLine(r.stderr, 'l2tp-node', /host not found/)
  })

  it('the metrics port is taken', async () => {
    const port = await freePort()
    const srv = createServer()
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()))
    try {
      const r = await node(['--config', writeConfig(config()), '--metrics-port', String(port)])
      expect(r.code).toBe(1)
      oneLine(r.stderr, 'l2tp-node', new RegExp(`metrics port 127\\.0\\.0\\.1:${port}: address in use`))
    } finally {
      srv.close()
    }
  })

  it('Kafka is unreachable', async () => {
    const r = await node(['--config', writeConfig(config()), '--publish'], { KAFKA_BROKERS: '127.0.0.1:1' })
    expect(r.code).toBe(1)
    oneLine(r.stderr, 'l2tp-node', /Kafka \(127\.0\.0\.1:1\) unreachable/)
  }, 90_000)

  it('NATS is unreachable', async () => {
    const r = await node(['--config', writeConfig(config()), '--control'], { NATS_URL: 'nats://127.0.0.1:1' })
    expect(r.code).toBe(1)
    oneLine(r.stderr, 'l2tp-node', /NATS \(nats:\/\/127\.0\.0\.1:1\) unreachable/)
  })
})

describe('l2tp-registry: the same rules', () => {
  it('a bad argument exits 2 before connecting anywhere', async () => {
    const r = await run('registry/cli/l2tp-registry.ts', ['--metrics-port', 'x'], {
      KAFKA_BROKERS: '127.0.0.1:1',
    })
    expect(r.code).toBe(2)
    oneLine(r.stderr, 'l2tp-registry', /--metrics-port must be/)
  })

  it('Kafka unreachable exits 1 with one line', async () => {
    const r = await run('registry/cli/l2tp-registry.ts', [], { KAFKA_BROKERS: '127.0.0.1:1' })
    expect(r.code).toBe(1)
    oneLine(r.stderr, 'l2tp-registry', /Kafka \(127\.0\.0\.1:1\) unreachable/)
  }, 90_000)
})
