// Captures loopback L2TP with tshark and reports every packet of a given source that carries
// an expert info of severity Error (tshark decodes RFC 2661 fully).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Capture {
  readonly file: string
  readonly stop: () => Promise<void>
}

export const startCapture = async (filter: string, iface = 'lo'): Promise<Capture> => {
  const file = join(mkdtempSync(join(tmpdir(), 'cap-')), 'l2tp.pcapng')
  let err = ''
  const child: ChildProcess = spawn('tshark', ['-i', iface, '-f', filter, '-w', file, '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString()
  })
  const until = Date.now() + 15_000
  while (!err.includes('Capturing on')) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`tshark did not start: ${err}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    file,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      // dumpcap hands packets over in buffered chunks: give the last ones time to be written.
      await new Promise((r) => setTimeout(r, 1500))
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT')
      await exited
    },
  }
}

interface PacketJson {
  readonly _source?: { readonly layers?: Record<string, unknown> }
}

export interface Decoded {
  readonly packets: number
  readonly l2tpPackets: number
  readonly errors: string[]
  readonly messageTypes: string[]
}

/** Decodes the capture; packets from `src` are checked for expert infos of severity Error. */
export const decodeCapture = (file: string, src: string): Decoded => {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-Y',
      `ip.src == ${src} && l2tp`,
      '-T',
      'json',
      '--no-duplicate-keys',
      '-d',
      'udp.port==1701,l2tp',
    ],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  )
  if (r.status !== 0) throw new Error(`tshark -r failed: ${r.stderr}`)
  const packets = JSON.parse(r.stdout || '[]') as PacketJson[]
  const errors: string[] = []
  const messageTypes: string[] = []
  let l2tp = 0
  for (const p of packets) {
    const layers = p._source?.layers ?? {}
    if (layers.l2tp !== undefined) l2tp++
    const text = JSON.stringify(layers)
    for (const m of text.matchAll(/"l2tp\.avp\.message_type":"(\d+)"/g)) messageTypes.push(m[1] as string)
    if (/"_ws\.expert\.severity":"(8388608|error)"/i.test(text)) errors.push(text.slice(0, 400))
  }
  return { packets: packets.length, l2tpPackets: l2tp, errors, messageTypes }
}
