// The data channel (RFC 2661 §5.4) between two of our engines on a fake clock, with data
// messages injected by hand where the peer's choice must be forced. Each test names its L2 id.
import { describe, expect, it } from 'vitest'
import { type DataMessage, decodePacket, encodeData } from '../../../nodes/wire/index.js'
import { addr, engineConfig, Sim } from '../../support/sim.js'

const LNS = addr('127.0.0.2')
const LAC = addr('127.0.0.3', 40000)

const setup = (sequencing: boolean) => {
  const sim = new Sim(5)
  sim.add(LNS, engineConfig({ role: 'LNS' }))
  sim.add(LAC, engineConfig({ role: 'LAC', hostName: 'lac-1' }))
  sim.input(LAC, { _tag: 'OpenTunnel', peer: LNS })
  sim.run(1000)
  const lacT = [...sim.node(LAC).engine.tunnels.values()][0]
  if (lacT === undefined) throw new Error('no tunnel')
  sim.input(LAC, {
    _tag: 'OpenSession',
    tunnelId: lacT.localId,
    direction: 'incoming',
    params: { sequencing },
  })
  sim.run(2000)
  const lacS = [...lacT.sessions.values()][0]
  const lnsT = [...sim.node(LNS).engine.tunnels.values()][0]
  const lnsS = lnsT?.sessions.get(lacS?.peerId as number)
  if (lacS === undefined || lnsT === undefined || lnsS === undefined) throw new Error('no session')
  const dataFrom = (a: typeof LNS): DataMessage[] =>
    sim.wire
      .filter((w) => w.from.host === a.host && w.from.port === a.port)
      .map((w) => decodePacket(w.bytes))
      .flatMap((r) => (r._tag === 'Right' && r.right._tag === 'Data' ? [r.right.msg] : []))
  const lnsSend = () =>
    sim.input(LNS, {
      _tag: 'SendData',
      tunnelId: lnsT.localId,
      sessionId: lnsS.localId,
      payload: Uint8Array.of(1),
    })
  const lacSend = () =>
    sim.input(LAC, {
      _tag: 'SendData',
      tunnelId: lacT.localId,
      sessionId: lacS.localId,
      payload: Uint8Array.of(2),
    })
  /** A data message as the LNS would send it, forced: sequenced or not, any Nr. */
  const forceFromLns = (ns: number | null, nr = 0) => {
    const bytes = encodeData(
      { tunnelId: lacT.localId, sessionId: lacS.localId, ns, priority: false },
      Uint8Array.of(9),
    )
    if (ns !== null) new DataView(bytes.buffer).setUint16(10, nr)
    return sim.input(LAC, { _tag: 'Datagram', from: LNS, bytes })
  }
  return { sim, lacS, lnsS, dataFrom, lnsSend, lacSend, forceFromLns }
}

describe('data channel (RFC 2661 §5.4)', () => {
  it('L2-57: after the LAC sent Sequencing Required, every data message of the LNS carries S=1', () => {
    const { sim, lnsS, dataFrom, lnsSend } = setup(true)
    expect(lnsS.sequencing).toBe(true)
    for (let i = 0; i < 4; i++) lnsSend()
    sim.run(sim.now + 10)
    expect(dataFrom(LNS).map((m) => m.ns)).toEqual([0, 1, 2, 3])
  })

  it('L2-58, L2-59: a LAC follows the LNS on and off sequencing, numbering on where it stopped', () => {
    const { sim, dataFrom, lacSend, forceFromLns } = setup(false)
    lacSend() // nothing from the LNS yet: unsequenced
    forceFromLns(0)
    lacSend()
    lacSend()
    forceFromLns(null)
    lacSend()
    forceFromLns(1)
    lacSend()
    sim.run(sim.now + 10)
    expect(dataFrom(LAC).map((m) => m.ns)).toEqual([null, 0, 1, null, 2])
  })

  it('L2-60: the Nr field of a received data message is ignored', () => {
    const { sim, forceFromLns } = setup(false)
    const delivered = () => sim.node(LAC).effects.filter((f) => f._tag === 'Deliver').length
    forceFromLns(0, 0xbeef)
    forceFromLns(1, 0x0001)
    forceFromLns(2, 0xffff)
    expect(delivered()).toBe(3)
    expect(sim.node(LAC).engine.stats.dataDropped).toBe(0)
  })

  it('an out-of-order (old) data message on a sequenced session is dropped and counted', () => {
    const { sim, forceFromLns } = setup(false)
    forceFromLns(5)
    forceFromLns(4)
    forceFromLns(6)
    const delivered = sim.node(LAC).effects.filter((f) => f._tag === 'Deliver').length
    expect(delivered).toBe(2)
    expect(sim.node(LAC).engine.stats.dataDropped).toBe(1)
  })
})
