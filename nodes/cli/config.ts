// l2tp-node configuration file: io-ts codec at the edge, readable errors, defaults, and the
// engine config built from it. Secrets may come from the environment (secretEnv) instead.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { Address, describeContractError, EndpointId, fromValidation, NodeId } from '../../contracts/index.js'
import type { ChannelConfig } from '../control/channel.js'
import { DEFAULT_MAX_TUNNELS, DEFAULT_SESSION_SETUP_MS } from '../engine/admission.js'
import { DEFAULT_DATA_RESYNC } from '../engine/data.js'
import type { EngineConfig, SecretRef } from '../engine/types.js'
import { DEFAULT_LEASE, type LeaseOptions, leaseProblem } from '../shell/lease.js'
import { DEFAULT_OUTBOX } from '../shell/outbox.js'
import type { AvpField } from '../wire/index.js'

/**
 * An object codec that refuses keys it does not know, each with its path ("at
 * .endpoints.0.sercrets: unknown key"): a typo in a config must not silently drop a setting.
 */
const exact = <P extends t.Props, Q extends t.Props>(name: string, required: P, optional: Q) => {
  const req = t.type(required)
  const opt = t.partial(optional)
  const inner = t.intersection([req, opt])
  const known = new Set([...Object.keys(required), ...Object.keys(optional)])
  return new t.Type<t.TypeOf<typeof inner>, t.OutputOf<typeof inner>, unknown>(
    name,
    inner.is,
    (u, c) => {
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c)
      const unknownKeys: t.Errors = Object.entries(u)
        .filter(([k]) => !known.has(k))
        .map(([key, value]) => ({
          value,
          context: [...c, { key, type: t.never, actual: value }],
          message: 'unknown key',
        }))
      // Members validated directly (not through the intersection): paths stay the data's paths.
      const a = req.validate(u, c)
      const b = opt.validate(u, c)
      const errors = [...unknownKeys, ...(E.isLeft(a) ? a.left : []), ...(E.isLeft(b) ? b.left : [])]
      if (errors.length > 0 || E.isLeft(a) || E.isLeft(b)) return t.failures(errors)
      return t.success({ ...a.right, ...b.right })
    },
    inner.encode,
  )
}

/** null, or a value of `c` (errors name `c`'s fault only, not "expected null" beside it). */
const orNull = <C extends t.Mixed>(c: C) =>
  new t.Type<t.TypeOf<C> | null, t.OutputOf<C> | null, unknown>(
    `${c.name} | null`,
    (u): u is t.TypeOf<C> | null => u === null || c.is(u),
    (u, ctx) => (u === null ? t.success(null) : c.validate(u, ctx)),
    (a) => (a === null ? null : c.encode(a)),
  )

const Secret = exact(
  'Secret',
  { ref: t.string, peerHostName: t.string },
  { secret: t.string, secretEnv: t.string },
)
const ExactAddress = exact('Address', { host: Address.props.host, port: Address.props.port }, {})

const PositiveInt = t.refinement(t.Int, (n) => n > 0, 'PositiveInt')
const NonNegativeInt = t.refinement(t.Int, (n) => n >= 0, 'NonNegativeInt')

/** A token bucket: new requests per second, and how many may arrive at once (burst >= 1). */
const AdmissionRate = exact('AdmissionRate', { perSecond: PositiveInt, burst: PositiveInt }, {})

export const EndpointConfig = exact(
  'EndpointConfig',
  { id: EndpointId, role: t.keyof({ LAC: null, LNS: null }), address: ExactAddress },
  {
    hostName: t.string,
    secrets: t.array(Secret),
    challenge: t.boolean,
    hideAvps: t.boolean,
    receiveWindow: t.refinement(t.Int, (n) => n >= 1 && n <= 65535, 'WindowSize'),
    retransmit: exact(
      'Retransmit',
      {},
      {
        initialMs: PositiveInt,
        /** RFC 2661 §5.8: the cap MUST NOT be below 8 s. */
        maxMs: t.refinement(t.Int, (n) => n >= 8000, 'AtLeast8000'),
        retries: PositiveInt,
      },
    ),
    helloIntervalMs: NonNegativeInt,
    maxSessionsPerTunnel: PositiveInt,
    /** Overload limits (issue 12): tunnels of the endpoint, SCCRQ/ICRQ token buckets, set-up timeout. */
    maxTunnels: t.refinement(t.Int, (n) => n >= 1 && n <= 65535, 'TunnelCount'),
    maxHalfOpenPerSource: PositiveInt,
    maxHalfOpen: PositiveInt,
    admission: exact('Admission', {}, { sccrq: AdmissionRate, icrq: AdmissionRate }),
    sessionSetupMs: NonNegativeInt,
    /** Tie Breaker in our SCCRQs (RFC 2661 §4.4.3): one tunnel per peer when both open at once. */
    tieBreaker: t.boolean,
    /** RFC 4951 §6: in-sequence "old" data packets after which the receiver adopts their Ns. */
    dataResyncPackets: PositiveInt,
    /** RFC 4951 §5.1: never C=0 and D=0 (FO-02); C=0 needs D=1 (FO-03). */
    failover: orNull(
      t.refinement(
        exact(
          'FailoverCapability',
          { control: t.boolean, data: t.boolean, recoveryTimeMs: NonNegativeInt },
          {},
        ),
        (f) => f.control || f.data,
        'FailoverCapabilityWithCOrD',
      ),
    ),
  },
)
export type EndpointConfig = t.TypeOf<typeof EndpointConfig>

/** The event outbox of every endpoint (DEFAULT_OUTBOX when absent). */
const OutboxConfig = exact(
  'OutboxConfig',
  {},
  { capacity: PositiveInt, highWater: PositiveInt, batch: PositiveInt },
)
/**
 * The endpoint lease under --ha (DEFAULT_LEASE when absent; --detection-ms overrides
 * detectionMs): detectionMs >= 2 x renewMs, every value above 0 (docs/lease.md).
 */
const LeaseConfig = exact(
  'LeaseConfig',
  {},
  { renewMs: PositiveInt, detectionMs: PositiveInt, pollMs: PositiveInt, marginMs: NonNegativeInt },
)

export const NodeConfig = exact(
  'NodeConfig',
  { nodeId: NodeId, endpoints: t.array(EndpointConfig) },
  {
    metricsPort: t.refinement(t.Int, (n) => n >= 0 && n <= 65535, 'Port'),
    outbox: OutboxConfig,
    lease: LeaseConfig,
    /** Bound on a graceful stop's waits: the peers' StopCCN acks, the outbox flush. */
    stopTimeoutMs: PositiveInt,
  },
)
export type NodeConfig = t.TypeOf<typeof NodeConfig>

/** Every key of the config file, for --help. */
export const CONFIG_KEYS = {
  node: ['nodeId', 'endpoints', 'metricsPort', 'outbox', 'lease', 'stopTimeoutMs'],
  endpoint: [
    'id',
    'role',
    'address',
    'hostName',
    'secrets',
    'challenge',
    'hideAvps',
    'receiveWindow',
    'retransmit',
    'helloIntervalMs',
    'maxSessionsPerTunnel',
    'maxTunnels',
    'maxHalfOpenPerSource',
    'maxHalfOpen',
    'admission',
    'sessionSetupMs',
    'tieBreaker',
    'dataResyncPackets',
    'failover',
  ],
} as const

export const parseConfig = (text: string): E.Either<string, NodeConfig> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return E.left(`config is not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const r = NodeConfig.decode(json)
  if (E.isLeft(r)) return E.left(describeContractError(fromValidation('config', r.left)))
  if (r.right.endpoints.length === 0)
    return E.left('invalid config: at .endpoints: at least one endpoint is needed')
  const ob = { ...DEFAULT_OUTBOX, ...r.right.outbox }
  if (ob.highWater > ob.capacity)
    return E.left('invalid config: at .outbox.highWater: must not exceed outbox.capacity')
  const lease = checkLease({ ...DEFAULT_LEASE, ...r.right.lease }, '.lease')
  if (E.isLeft(lease)) return lease
  const ids = r.right.endpoints.map((e) => e.id)
  if (new Set(ids).size !== ids.length) return E.left('invalid config: endpoint ids must be unique')
  for (const ep of r.right.endpoints) {
    if (ep.challenge === true && (ep.secrets ?? []).length === 0)
      return E.left(
        `invalid config: at .endpoints[${ep.id}].challenge: challenge needs at least one secret (it fails closed: every peer would be refused)`,
      )
    for (const s of ep.secrets ?? []) {
      if (s.secret === undefined && s.secretEnv === undefined)
        return E.left(`invalid config: secret ${s.ref} of ${ep.id} needs secret or secretEnv`)
      if (s.secretEnv !== undefined && process.env[s.secretEnv] === undefined) {
        return E.left(
          `invalid config: environment variable ${s.secretEnv} (secret ${s.ref} of ${ep.id}) is not set`,
        )
      }
    }
  }
  return E.right(r.right)
}

/**
 * The lease settings, or one line saying why they are refused (`where` names the setting:
 * `.lease` in the file, `--detection-ms` on the command line).
 */
export const checkLease = (lease: LeaseOptions, where: string): E.Either<string, LeaseOptions> => {
  const problem = leaseProblem(lease)
  return problem === null ? E.right(lease) : E.left(`invalid config: at ${where}: ${problem}`)
}

/** The lease of a node: the file's, with --detection-ms (if given) over its detectionMs. */
export const leaseOf = (
  config: NodeConfig,
  detectionMs: number | undefined,
): E.Either<string, LeaseOptions> =>
  detectionMs === undefined
    ? checkLease({ ...DEFAULT_LEASE, ...config.lease }, '.lease')
    : checkLease({ ...DEFAULT_LEASE, ...config.lease, detectionMs }, '--detection-ms')

const HIDDEN: ReadonlySet<AvpField> = new Set([
  'assignedSessionId',
  'callSerialNumber',
  'bearerType',
  'framingType',
  'txConnectSpeed',
  'callingNumber',
  'calledNumber',
])

export const DEFAULT_RETRANSMIT = { initialMs: 1000, maxMs: 8000, retries: 5 } as const

export const engineConfigOf = (ep: EndpointConfig): EngineConfig => {
  const encoder = new TextEncoder()
  const secrets: Array<{ peer: string; ref: SecretRef }> = (ep.secrets ?? []).map((s) => ({
    peer: s.peerHostName,
    ref: { ref: s.ref, secret: encoder.encode(s.secret ?? process.env[s.secretEnv ?? ''] ?? '') },
  }))
  const wildcard = secrets.find((s) => s.peer === '*')?.ref ?? null
  const channel: ChannelConfig = {
    initialTimeoutMs: ep.retransmit?.initialMs ?? DEFAULT_RETRANSMIT.initialMs,
    maxTimeoutMs: ep.retransmit?.maxMs ?? DEFAULT_RETRANSMIT.maxMs,
    maxRetransmits: ep.retransmit?.retries ?? DEFAULT_RETRANSMIT.retries,
    ackDelayMs: 50,
    helloIntervalMs: ep.helloIntervalMs ?? 60_000,
    receiveWindow: ep.receiveWindow ?? 16,
  }
  return {
    role: ep.role,
    hostName: ep.hostName ?? ep.id,
    vendorName: 'l2tp-registry',
    firmwareRevision: 1,
    secretFor: (peer) => (peer === null ? wildcard : (secrets.find((s) => s.peer === peer)?.ref ?? wildcard)),
    challenge: ep.challenge ?? false,
    hide: ep.hideAvps === false ? new Set() : HIDDEN,
    framing: { sync: true, async: true },
    bearer: ep.role === 'LAC' ? { digital: true, analog: true } : { digital: false, analog: false },
    failover: ep.failover ?? null,
    channel,
    lingerMs: 31_000,
    maxSessionsPerTunnel: ep.maxSessionsPerTunnel ?? 65_535,
    refuseNew: false,
    tieBreaker: ep.tieBreaker ?? false,
    dataResyncPackets: ep.dataResyncPackets ?? DEFAULT_DATA_RESYNC,
    maxTunnels: ep.maxTunnels ?? DEFAULT_MAX_TUNNELS,
    ...(ep.maxHalfOpenPerSource === undefined ? {} : { maxHalfOpenPerSource: ep.maxHalfOpenPerSource }),
    ...(ep.maxHalfOpen === undefined ? {} : { maxHalfOpen: ep.maxHalfOpen }),
    admission: ep.admission ?? {},
    sessionSetupMs: ep.sessionSetupMs ?? DEFAULT_SESSION_SETUP_MS,
  }
}
