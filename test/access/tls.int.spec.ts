// TLS toward NATS (issue 9): a nats-server of this test's own with mutual TLS (a CA made here
// with openssl); a program given NATS_CA, NATS_CERT and NATS_KEY connects, without its client
// certificate or without the CA it is refused.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { natsBinary } from '../../infra/nats.js'
import { freePort, portOpen } from '../../infra/proc.js'
import { natsFromEnv } from '../../registry/cli/env.js'
import { connectNats } from '../../registry/shell/index.js'
import { sleep } from '../support/churn.js'

let dir: string
let port: number
let server: ChildProcess | null = null
const saved = { ...process.env }

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
const makeCertificates = () => {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  )
  for (const who of ['server', 'client']) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${who}`,
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
    )
    writeFileSync(
      join(dir, `${who}.ext`),
      who === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n',
    )
    openssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${who}.ext`,
      '-out',
      `${who}.pem`,
    )
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nats-tls-'))
  makeCertificates()
  port = await freePort()
  writeFileSync(
    join(dir, 'nats.conf'),
    [
      `tls: { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}", ca_file: "${join(dir, 'ca.pem')}", verify: true }`,
      'authorization: { users: [ { user: "tls-user", password: "tls-pass" } ] }',
    ].join('\n'),
  )
  server = spawn(natsBinary(), ['-c', join(dir, 'nats.conf'), '-a', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  })
  for (let i = 0; i < 150 && !(await portOpen(port)); i++) await sleep(100)
})

afterAll(() => {
  server?.kill('SIGTERM')
  for (const k of ['NATS_URL', 'NATS_USER', 'NATS_PASS', 'NATS_CA', 'NATS_CERT', 'NATS_KEY']) {
    delete process.env[k]
    if (saved[k] !== undefined) process.env[k] = saved[k]
  }
  rmSync(dir, { recursive: true, force: true })
})

const connectWith = async (vars: Record<string, string>) => {
  for (const k of ['NATS_CA', 'NATS_CERT', 'NATS_KEY']) delete process.env[k]
  Object.assign(
    process.env,
    { NATS_URL: `tls://127.0.0.1:${port}`, NATS_USER: 'tls-user', NATS_PASS: 'tls-pass' },
    vars,
  )
  const r = await connectNats({ ...natsFromEnv('operator'), name: 'test-tls', timeoutMs: 3000 })()
  if (E.isLeft(r)) return r.left.detail
  await r.right.flush()
  await r.right.close()
  return 'connected'
}

describe('NATS over TLS', () => {
  it('connects with the CA and a client certificate (mutual TLS)', async () => {
    expect(
      await connectWith({
        NATS_CA: join(dir, 'ca.pem'),
        NATS_CERT: join(dir, 'client.pem'),
        NATS_KEY: join(dir, 'client.key'),
      }),
    ).toBe('connected')
  })

  it('is refused without the client certificate, or without the CA', async () => {
    const noCert = await connectWith({ NATS_CA: join(dir, 'ca.pem') })
    expect(noCert).not.toBe('connected') // the server drops the handshake: a timeout
    expect(
      await connectWith({ NATS_CERT: join(dir, 'client.pem'), NATS_KEY: join(dir, 'client.key') }),
    ).not.toBe('connected')
  })
})
