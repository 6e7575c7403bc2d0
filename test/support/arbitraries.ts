// fast-check arbitraries for every event and command of contracts/ (valid values only).
import fc from 'fast-check'
import type { Command, L2tpEvent } from '../../contracts/index.js'

const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const id16 = fc.integer({ min: 1, max: 0xffff })
const count = fc.nat({ max: 1_000_000 })
const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/)
const text = fc.string({ maxLength: 40 })
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null })
const address = fc.record({ host: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }) })
const failover = fc.record({ control: fc.boolean(), data: fc.boolean(), recoveryTimeMs: u32 })
const role = fc.constantFrom('LAC' as const, 'LNS' as const)
const closedBy = fc.constantFrom(
  'local' as const,
  'peer' as const,
  'operator' as const,
  'timeout' as const,
  'recovery' as const,
)

export const envelope = fc.record({
  endpointId: name,
  epoch: fc.nat({ max: 1000 }),
  seq: fc.integer({ min: 1, max: 1_000_000_000 }),
  at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  nodeId: name,
})

const withEnvelope = <T extends object>(type: string, v: number, body: fc.Arbitrary<T>) =>
  fc.tuple(envelope, body).map(([env, b]) => ({ type, v, ...env, ...b }) as unknown as L2tpEvent)

export const eventArbs: Record<L2tpEvent['type'], fc.Arbitrary<L2tpEvent>> = {
  EndpointActivated: withEnvelope('EndpointActivated', 1, fc.record({ address, role, hostName: text })),
  EndpointReleased: withEnvelope('EndpointReleased', 1, fc.record({ reason: text })),
  TunnelEstablished: withEnvelope(
    'TunnelEstablished',
    1,
    fc.record({
      localTunnelId: id16,
      remoteTunnelId: id16,
      local: address,
      peer: address,
      role,
      originator: fc.constantFrom('local' as const, 'peer' as const),
      localHostName: text,
      peerHostName: text,
      peerVendorName: opt(text),
      peerFirmwareRevision: opt(u16),
      peerFraming: fc.record({ sync: fc.boolean(), async: fc.boolean() }),
      peerBearer: fc.record({ digital: fc.boolean(), analog: fc.boolean() }),
      localReceiveWindow: id16,
      peerReceiveWindow: id16,
      localFailover: opt(failover),
      peerFailover: opt(failover),
      authenticated: fc.boolean(),
      secretRef: opt(name),
    }),
  ),
  TunnelClosed: withEnvelope(
    'TunnelClosed',
    1,
    fc.record({ localTunnelId: id16, resultCode: u16, errorCode: opt(u16), message: opt(text), closedBy }),
  ),
  SessionEstablished: withEnvelope(
    'SessionEstablished',
    2,
    fc.record({
      localTunnelId: id16,
      localSessionId: id16,
      remoteSessionId: id16,
      callSerial: u32,
      direction: fc.constantFrom('incoming' as const, 'outgoing' as const),
      framing: fc.constantFrom('sync' as const, 'async' as const),
      bearer: opt(fc.constantFrom('digital' as const, 'analog' as const)),
      txConnectSpeed: u32,
      rxConnectSpeed: opt(u32),
      callingNumber: opt(text),
      calledNumber: opt(text),
      physicalChannelId: opt(u32),
      sequencing: fc.boolean(),
    }),
  ),
  SessionClosed: withEnvelope(
    'SessionClosed',
    1,
    fc.record({
      localTunnelId: id16,
      localSessionId: id16,
      resultCode: u16,
      errorCode: opt(u16),
      message: opt(text),
      q931: opt(fc.record({ cause: u16, msg: fc.integer({ min: 0, max: 255 }), advisory: opt(text) })),
      closedBy,
    }),
  ),
  TunnelRecoveryStarted: withEnvelope(
    'TunnelRecoveryStarted',
    1,
    fc.record({ localTunnelId: id16, recoveryTunnelId: opt(id16) }),
  ),
  TunnelRecovered: withEnvelope(
    'TunnelRecovered',
    1,
    fc.record({
      localTunnelId: id16,
      recoveryTunnelId: id16,
      suggestedNs: u16,
      suggestedNr: u16,
      sessionsKept: count,
      sessionsCleared: count,
      durationMs: count,
    }),
  ),
  TunnelRecoveryFailed: withEnvelope(
    'TunnelRecoveryFailed',
    1,
    fc.record({ localTunnelId: id16, reason: text, durationMs: count }),
  ),
  SessionsReconciled: withEnvelope(
    'SessionsReconciled',
    1,
    fc.record({ localTunnelId: id16, clearedSessionIds: fc.array(id16, { maxLength: 8 }), kept: count }),
  ),
  SetupRejected: withEnvelope(
    'SetupRejected',
    1,
    fc.record({
      peer: address,
      stage: fc.constantFrom('tunnel' as const, 'session' as const),
      reason: text,
      resultCode: opt(u16),
      errorCode: opt(u16),
      localTunnelId: opt(id16),
    }),
  ),
  CommandApplied: withEnvelope(
    'CommandApplied',
    1,
    fc.record({
      command: text,
      subject: text,
      issuer: text,
      result: fc.constantFrom('applied' as const, 'rejected' as const),
      detail: opt(text),
      localTunnelId: opt(id16),
      localSessionId: opt(id16),
    }),
  ),
}

export const anyEvent: fc.Arbitrary<L2tpEvent> = fc.oneof(...Object.values(eventArbs))

/** The optional paging fields of a listing (contracts/paging.ts); any of them may be absent. */
const paging = <F>(filter: fc.Arbitrary<F>) =>
  fc.record(
    { limit: fc.integer({ min: 1, max: 5000 }), cursor: fc.string({ maxLength: 12 }), filter },
    { requiredKeys: [] },
  )
const tunnelFilter = fc.record(
  {
    localTunnelId: id16,
    peer: fc.constantFrom('127.0.0.3', '127.0.0.3:1701', '[::1]:1701'),
    peerHostName: text,
    state: fc.constantFrom('established' as const, 'recovering' as const),
  },
  { requiredKeys: [] },
)
const listing = <T extends object, F>(type: string, body: fc.Arbitrary<T>, filter: fc.Arbitrary<F>) =>
  req(
    type,
    fc.tuple(body, paging(filter)).map(([b, p]) => ({ ...b, ...p })),
  )

const req = <T extends object>(type: string, body: fc.Arbitrary<T>) =>
  body.map((b) => ({ type, v: 1, ...b }) as unknown as Command)

export const commandArbs: Record<Command['type'], fc.Arbitrary<Command>> = {
  GetNodeStatus: req('GetNodeStatus', fc.constant({})),
  ListTunnels: listing('ListTunnels', fc.record({ endpointId: name }), tunnelFilter),
  ListSessions: listing(
    'ListSessions',
    fc.record({ endpointId: name, localTunnelId: opt(id16) }),
    tunnelFilter,
  ),
  CloseTunnel: req('CloseTunnel', fc.record({ endpointId: name, localTunnelId: id16, reason: opt(text) })),
  CloseSession: req(
    'CloseSession',
    fc.record({
      endpointId: name,
      localTunnelId: id16,
      localSessionId: id16,
      reason: opt(text),
    }),
  ),
  SyncSessions: req('SyncSessions', fc.record({ endpointId: name, localTunnelId: opt(id16) })),
  DrainEndpoint: req('DrainEndpoint', fc.record({ endpointId: name })),
  UndrainEndpoint: req('UndrainEndpoint', fc.record({ endpointId: name })),
  ReleaseEndpoint: req('ReleaseEndpoint', fc.record({ endpointId: name })),
  TakeOverEndpoint: req('TakeOverEndpoint', fc.record({ endpointId: name })),
  ListEndpoints: listing(
    'ListEndpoints',
    fc.constant({}),
    fc.record({ owner: name, active: fc.boolean() }, { requiredKeys: [] }),
  ),
  GetEndpoint: listing('GetEndpoint', fc.record({ endpointId: name }), tunnelFilter),
  GetTunnel: req('GetTunnel', fc.record({ endpointId: name, localTunnelId: id16 })),
  GetSession: req('GetSession', fc.record({ endpointId: name, localTunnelId: id16, localSessionId: id16 })),
  GetStateAsOf: req(
    'GetStateAsOf',
    fc.record({
      endpointId: name,
      asOf: fc.oneof(
        fc.record({ at: fc.nat() }),
        fc.record({ offset: fc.bigInt({ min: 0n, max: 2n ** 62n }).map(String) }),
      ),
    }),
  ),
  GetTimeline: req(
    'GetTimeline',
    fc.record({ endpointId: name, localTunnelId: id16, localSessionId: opt(id16) }),
  ),
}
