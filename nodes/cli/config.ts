// l2tp-node configuration file: io-ts codec at the edge, readable errors, defaults, and the
// engine config built from it. Secrets may come from the environment (secretEnv) instead.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { Address, describeContractError, EndpointId, fromValidation, NodeId } from '../../contracts/index.js'
import type { ChannelConfig } from '../control/channel.js'
import { DEFAULT_DATA_RESYNC } from '../engine/data.js'
import type { EngineConfig, SecretRef } from '../engine/types.js'
import type { AvpField } from '../wire/index.js'

const Secret = t.intersection([
  t.type({ ref: t.string, peerHostName: t.string }),
  t.partial({ secret: t.string, secretEnv: t.string }),
])

const PositiveInt = t.refinement(t.Int, (n) => n > 0, 'PositiveInt')
const NonNegativeInt = t.refinement(t.Int, (n) => n >= 0, 'NonNegativeInt')

export const EndpointConfig = t.intersection([
  t.type({ id: EndpointId, role: t.keyof({ LAC: null, LNS: null }), address: Address }),
  t.partial({
    hostName: t.string,
    secrets: t.array(Secret),
    challenge: t.boolean,
    hideAvps: t.boolean,
    receiveWindow: t.refinement(t.Int, (n) => n >= 1 && n <= 65535, 'WindowSize'),
    retransmit: t.partial({
      initialMs: PositiveInt,
      /** RFC 2661 §5.8: the cap MUST NOT be below 8 s. */
      maxMs: t.refinement(t.Int, (n) => n >= 8000, 'AtLeast8000'),
      retries: PositiveInt,
    }),
    helloIntervalMs: NonNegativeInt,
    maxSessionsPerTunnel: PositiveInt,
    /** Tie Breaker in our SCCRQs (RFC 2661 §4.4.3): one tunnel per peer when both open at once. */
    tieBreaker: t.boolean,
    /** RFC 4951 §6: in-sequence "old" data packets after which the receiver adopts their Ns. */
    dataResyncPackets: PositiveInt,
    /** RFC 4951 §5.1: never C=0 and D=0 (FO-02); C=0 needs D=1 (FO-03). */
    failover: t.union([
      t.null,
      t.refinement(
        t.type({ control: t.boolean, data: t.boolean, recoveryTimeMs: NonNegativeInt }),
        (f) => f.control || f.data,
        'FailoverCapabilityWithCOrD',
      ),
    ]),
  }),
])
export type EndpointConfig = t.TypeOf<typeof EndpointConfig>

export const NodeConfig = t.intersection([
  t.type({ nodeId: NodeId, endpoints: t.array(EndpointConfig) }),
  t.partial({ metricsPort: t.refinement(t.Int, (n) => n >= 0 && n <= 65535, 'Port') }),
])
export type NodeConfig = t.TypeOf<typeof NodeConfig>

export const parseConfig = (text: string): E.Either<string, NodeConfig> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return E.left(`config is not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const r = NodeConfig.decode(json)
  if (E.isLeft(r)) return E.left(describeContractError(fromValidation('config', r.left)))
  const ids = r.right.endpoints.map((e) => e.id)
  if (new Set(ids).size !== ids.length) return E.left('invalid config: endpoint ids must be unique')
  for (const ep of r.right.endpoints) {
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
  }
}
