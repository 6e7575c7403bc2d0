// A node's graceful stop must not wait forever for a NATS server that stopped answering: the
// service stops and the connection drain wait for a PONG that never comes (nats-lifecycle.ts
// bounds them), and the tunnels must still be closed and the process exit 0.
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, spawnProgram, writeConfig } from '../../support/spawn.js'
import { stallingServer } from '../../support/stalling-nats.js'

let cleanup: (() => Promise<void>) | null = null
afterEach(async () => {
  await cleanup?.()
  cleanup = null
})

const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise((r) => setTimeout(r, 50))
}

describe('l2tp-node graceful stop with a silent NATS server', () => {
  it('--control: SIGTERM closes the endpoint and exits 0 though NATS never answers again', async () => {
    const fake = await stallingServer()
    const port = await freePort()
    const config = writeConfig({
      nodeId: 'silent-1',
      endpoints: [{ id: 'lns-silent', role: 'LNS', address: { host: '127.0.0.1', port } }],
    })
    const node = spawnProgram('nodes/cli/l2tp-node.ts', ['--config', config, '--control'], {
      NATS_URL: `nats://127.0.0.1:${fake.port}`,
      NATS_USER: 'silent',
      NATS_PASS: 'silent',
    })
    cleanup = async () => {
      if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL')
      await fake.close()
    }
    await until(() => node.lines.some((l) => l.includes('"node serving"')))
    fake.state.answering = false
    node.proc.kill('SIGTERM')
    expect(await node.exited).toBe(0)
    expect(node.lines.some((l) => l.includes('"tunnels closed for shutdown"'))).toBe(true)
    expect(node.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true)
  })
})
