// Hex fixtures for every message type, written by hand from RFC 2661 §4.4 / §6 and RFC 4951
// §5 / §7 (one AVP per string: flags|length, vendor, type, value). Header: c802 LLLL tid sid ns nr.
import type { OutgoingControl } from '../../../nodes/wire/index.js'

export interface Fixture {
  readonly name: string
  readonly msg: OutgoingControl
  /** Header without Length: tunnel, session, ns, nr (Length is the total, filled in). */
  readonly ids: string
  readonly avps: readonly string[]
}

const MT = (n: number) => `8008 0000 0000 ${n.toString(16).padStart(4, '0')}`
const h = { tunnelId: 0x1234, sessionId: 0, ns: 0, nr: 0 }

export const FIXTURES: readonly Fixture[] = [
  {
    name: 'SCCRQ',
    msg: {
      ...h,
      tunnelId: 0,
      type: 1,
      avps: {
        protocolVersion: { ver: 1, rev: 0 },
        framingCapabilities: { sync: true, async: true },
        bearerCapabilities: { digital: true, analog: false },
        tieBreaker: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
        firmwareRevision: 0x0100,
        hostName: 'lac',
        vendorName: 'x',
        assignedTunnelId: 0xabcd,
        receiveWindowSize: 8,
        challenge: Uint8Array.from([0xde, 0xad, 0xbe, 0xef]),
        failoverCapability: { control: true, data: true, recoveryTimeMs: 5000 },
      },
    },
    ids: '0000 0000 0000 0000',
    avps: [
      MT(1),
      '8008 0000 0002 0100', // Protocol Version 1.0 (L2-23)
      '800a 0000 0003 00000003', // Framing Capabilities: sync + async
      '800a 0000 0004 00000001', // Bearer Capabilities: digital
      '000e 0000 0005 0102030405060708', // Tie Breaker, M=0 (L2-56)
      '0008 0000 0006 0100', // Firmware Revision, M=0
      '8009 0000 0007 6c6163', // Host Name "lac"
      '0007 0000 0008 78', // Vendor Name "x", M=0
      '8008 0000 0009 abcd', // Assigned Tunnel ID
      '8008 0000 000a 0008', // Receive Window Size 8
      '800a 0000 000b deadbeef', // Challenge
      '000c 0000 004c 0003 00001388', // Failover Capability: C|D, 5000 ms, M=0 (RFC 4951 §5.1)
    ],
  },
  {
    name: 'SCCRP',
    msg: {
      ...h,
      type: 2,
      nr: 1,
      avps: {
        protocolVersion: { ver: 1, rev: 0 },
        framingCapabilities: { sync: true, async: false },
        hostName: 'lns',
        assignedTunnelId: 0x0042,
        challengeResponse: Uint8Array.from({ length: 16 }, (_, i) => i),
      },
    },
    ids: '1234 0000 0000 0001',
    avps: [
      MT(2),
      '8008 0000 0002 0100',
      '800a 0000 0003 00000001',
      '8009 0000 0007 6c6e73',
      '8008 0000 0009 0042',
      '8016 0000 000d 000102030405060708090a0b0c0d0e0f',
    ],
  },
  {
    name: 'SCCCN',
    msg: { ...h, type: 3, ns: 1, nr: 1, avps: {} },
    ids: '1234 0000 0001 0001',
    avps: [MT(3)],
  },
  {
    name: 'StopCCN',
    msg: {
      ...h,
      type: 4,
      ns: 2,
      nr: 1,
      avps: { assignedTunnelId: 0xabcd, resultCode: { result: 2, error: 8, message: 'x' } },
    },
    ids: '1234 0000 0002 0001',
    avps: [MT(4), '800b 0000 0001 0002 0008 78', '8008 0000 0009 abcd'],
  },
  {
    name: 'HELLO',
    msg: { ...h, type: 6, ns: 3, nr: 2, avps: {} },
    ids: '1234 0000 0003 0002',
    avps: [MT(6)],
  },
  {
    name: 'OCRQ',
    msg: {
      ...h,
      type: 7,
      avps: {
        assignedSessionId: 7,
        callSerialNumber: 1,
        minimumBps: 0,
        maximumBps: 1_000_000,
        bearerType: { digital: true, analog: false },
        framingType: { sync: true, async: false },
        calledNumber: '12',
        subAddress: '9',
      },
    },
    ids: '1234 0000 0000 0000',
    avps: [
      MT(7),
      '8008 0000 000e 0007', // Assigned Session ID 7
      '800a 0000 000f 00000001', // Call Serial Number
      '800a 0000 0010 00000000', // Minimum BPS
      '800a 0000 0011 000f4240', // Maximum BPS 1,000,000
      '800a 0000 0012 00000001', // Bearer Type digital
      '800a 0000 0013 00000001', // Framing Type sync
      '8008 0000 0015 3132', // Called Number "12"
      '8007 0000 0017 39', // Sub-Address "9"
    ],
  },
  {
    name: 'OCRP',
    msg: { ...h, sessionId: 7, type: 8, avps: { assignedSessionId: 9, physicalChannelId: 3 } },
    ids: '1234 0007 0000 0000',
    avps: [MT(8), '8008 0000 000e 0009', '000a 0000 0019 00000003'],
  },
  {
    name: 'OCCN',
    msg: {
      ...h,
      sessionId: 7,
      type: 9,
      avps: {
        txConnectSpeed: 64000,
        framingType: { sync: true, async: false },
        rxConnectSpeed: 32000,
        sequencingRequired: true,
      },
    },
    ids: '1234 0007 0000 0000',
    avps: [
      MT(9),
      '800a 0000 0013 00000001',
      '800a 0000 0018 0000fa00',
      '000a 0000 0026 00007d00',
      '8006 0000 0027',
    ],
  },
  {
    name: 'ICRQ',
    msg: {
      ...h,
      type: 10,
      avps: {
        assignedSessionId: 0x0101,
        callSerialNumber: 42,
        bearerType: { digital: false, analog: true },
        calledNumber: '1',
        callingNumber: '2',
        physicalChannelId: 5,
      },
    },
    ids: '1234 0000 0000 0000',
    avps: [
      MT(10),
      '8008 0000 000e 0101',
      '800a 0000 000f 0000002a',
      '800a 0000 0012 00000002',
      '8007 0000 0015 31',
      '8007 0000 0016 32',
      '000a 0000 0019 00000005',
    ],
  },
  {
    name: 'ICRP',
    msg: { ...h, sessionId: 0x0101, type: 11, avps: { assignedSessionId: 0x0202 } },
    ids: '1234 0101 0000 0000',
    avps: [MT(11), '8008 0000 000e 0202'],
  },
  {
    name: 'ICCN',
    msg: {
      ...h,
      sessionId: 0x0202,
      type: 12,
      avps: {
        framingType: { sync: false, async: true },
        txConnectSpeed: 10,
        proxyAuthenType: 2,
        proxyAuthenName: Uint8Array.from([0x61]),
        proxyAuthenChallenge: Uint8Array.from([1]),
        proxyAuthenId: 5,
        proxyAuthenResponse: Uint8Array.from([2, 3]),
        privateGroupId: Uint8Array.from([7]),
      },
    },
    ids: '1234 0202 0000 0000',
    avps: [
      MT(12),
      '800a 0000 0013 00000002', // Framing Type async
      '800a 0000 0018 0000000a', // Tx Connect Speed 10
      '0008 0000 001d 0002', // Proxy Authen Type CHAP
      '0007 0000 001e 61', // Proxy Authen Name
      '0007 0000 001f 01', // Proxy Authen Challenge
      '0008 0000 0020 0005', // Proxy Authen ID: reserved 0, id 5
      '0008 0000 0021 0203', // Proxy Authen Response
      '0007 0000 0025 07', // Private Group ID
    ],
  },
  {
    name: 'CDN',
    msg: {
      ...h,
      sessionId: 0x0202,
      type: 14,
      avps: {
        resultCode: { result: 3, error: null, message: null },
        q931CauseCode: { cause: 16, msg: 0x5a, advisory: null },
        assignedSessionId: 0x0101,
      },
    },
    ids: '1234 0202 0000 0000',
    avps: [MT(14), '8008 0000 0001 0003', '8009 0000 000c 0010 5a', '8008 0000 000e 0101'],
  },
  {
    name: 'WEN',
    msg: {
      ...h,
      sessionId: 0x0202,
      type: 15,
      avps: {
        callErrors: { crc: 1, framing: 2, hardwareOverruns: 3, bufferOverruns: 4, timeouts: 5, alignment: 6 },
      },
    },
    ids: '1234 0202 0000 0000',
    avps: [MT(15), '8020 0000 0022 0000 00000001 00000002 00000003 00000004 00000005 00000006'],
  },
  {
    name: 'SLI',
    msg: { ...h, sessionId: 0x0202, type: 16, avps: { accm: { send: 0xffffffff, receive: 0 } } },
    ids: '1234 0202 0000 0000',
    avps: [MT(16), '8010 0000 0023 0000 ffffffff 00000000'],
  },
  {
    name: 'FSQ (RFC 4951: Message Type M=0)',
    msg: {
      ...h,
      type: 21,
      avps: {
        failoverSessionStates: [
          { sessionId: 1, remoteSessionId: 2 },
          { sessionId: 3, remoteSessionId: 4 },
        ],
      },
    },
    ids: '1234 0000 0000 0000',
    avps: [
      '0008 0000 0000 0015',
      '8010 0000 004f 0000 0000 0001 0000 0002',
      '8010 0000 004f 0000 0000 0003 0000 0004',
    ],
  },
  {
    name: 'FSR',
    msg: { ...h, type: 22, avps: { failoverSessionStates: [{ sessionId: 0, remoteSessionId: 2 }] } },
    ids: '1234 0000 0000 0000',
    avps: ['0008 0000 0000 0016', '8010 0000 004f 0000 0000 0000 0000 0002'],
  },
  {
    name: 'recovery SCCRQ (Tunnel Recovery AVP 77) and SCCRP (Suggested Control Sequence AVP 78)',
    msg: {
      ...h,
      type: 2,
      avps: {
        protocolVersion: { ver: 1, rev: 0 },
        framingCapabilities: { sync: true, async: false },
        hostName: 'r',
        assignedTunnelId: 5,
        tunnelRecovery: { recoverTunnelId: 0x0a0a, recoverRemoteTunnelId: 0x0b0b },
        suggestedControlSequence: { ns: 3, nr: 100 },
      },
    },
    ids: '1234 0000 0000 0000',
    avps: [
      MT(2),
      '8008 0000 0002 0100',
      '800a 0000 0003 00000001',
      '8007 0000 0007 72',
      '8008 0000 0009 0005',
      '8010 0000 004d 0000 0000 0a0a 0000 0b0b',
      '000c 0000 004e 0000 0003 0064',
    ],
  },
  { name: 'ZLB', msg: { ...h, ns: 4, nr: 9, type: null, avps: {} }, ids: '1234 0000 0004 0009', avps: [] },
]

const clean = (s: string) => s.replaceAll(' ', '')

/** The whole datagram of a fixture, Length filled in. */
export const fixtureHex = (f: Fixture): string => {
  const body = f.avps.map(clean).join('')
  const len = 12 + body.length / 2
  const ids = clean(f.ids)
  return `c802${len.toString(16).padStart(4, '0')}${ids}${body}`
}
