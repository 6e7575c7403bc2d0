// NATS identities and what each may do (issue 9, "Identities and access"): the permissions of
// every kind of user and the `authorization` block of the generated server config. Pure.
//
// Subjects may carry a one-token lab prefix (L2TP_SUBJECT_PREFIX, e.g. `lab1.`): every l2tp rule
// is given twice, bare and under `*.`. `$JS`, `$KV` and `$SRV` subjects have no prefix.
import { LEASE_BUCKET, SERVICE_NODE, SERVICE_REGISTRY } from '../contracts/subjects.js'

export type IdentityKind = 'admin' | 'registry' | 'operator' | 'auditor' | 'node'

export interface Identity {
  /** The NATS user name: the issuer token of its commands and its inbox prefix. */
  readonly name: string
  readonly kind: IdentityKind
  readonly password: string
  /** Nkey login instead of the password: the public key (U...) and the file of its seed. */
  readonly nkey?: { readonly publicKey: string; readonly seedFile: string }
  /** Node identities: the node id and the endpoints of its config. */
  readonly nodeId?: string
  readonly endpoints?: readonly string[]
}

export interface Permissions {
  readonly publish: readonly string[]
  readonly subscribe: readonly string[]
  readonly allowResponses: boolean
}

/** NATS user names and subject tokens: what NodeId/EndpointId allow, a little longer. */
export const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

/** The user of node `nodeId`. Operator and auditor names may not start with `node-`. */
export const nodeUser = (nodeId: string): string => `node-${nodeId}`

/** The inbox prefix of a user (nats.js `inboxPrefix`): nobody may subscribe to another's. */
export const inboxPrefixOf = (user: string): string => `_INBOX.${user}`

const STREAM = `KV_${LEASE_BUCKET}`
const KV = `$KV.${LEASE_BUCKET}`
/** Direct get of the last value of one key (nats.js `kv.get` on a bucket with allow_direct). */
const directGet = (key: string) => `$JS.API.DIRECT.GET.${STREAM}.${KV}.${key}`

/** An l2tp subject rule, bare and under any one-token lab prefix. */
const l2tp = (rest: string): string[] => [`l2tp.${rest}`, `*.l2tp.${rest}`]

const inbox = (user: string) => `${inboxPrefixOf(user)}.>`

/** The micro service subjects a service subscribes to ($SRV.PING|INFO|STATS[.name[.id]]). */
const serviceControl = (service: string) => ['$SRV.*', `$SRV.*.${service}`, `$SRV.*.${service}.*`]

/** Discovery requests (nats micro / l2tpctl nodes). */
const discovery = ['$SRV.PING', '$SRV.PING.>', '$SRV.INFO', '$SRV.INFO.>', '$SRV.STATS', '$SRV.STATS.>']

/** Queries anyone who may look sends: registry, node status, an endpoint's listings. */
const queries = [
  ...l2tp('registry.>'),
  ...l2tp('node.*.status'),
  ...l2tp('ep.*.tunnels'),
  ...l2tp('ep.*.sessions'),
]

/**
 * What each identity may do (null: no restrictions, the admin of infra only).
 * - node N: serve its node subjects and its endpoints' subjects; write and read only its
 *   endpoints' lease keys; ask the owner of one of its endpoints to release (a takeover).
 * - registry: serve registry queries and forward them to the instance of a partition
 *   (l2tp.registry.p.>); read every lease (direct get) and list the keys
 *   (an ordered consumer on the lease stream: create, info, delete consumers; no stream change).
 * - operator: queries, and state-changing commands issued under its own name only.
 * - auditor: queries only. Neither operator nor auditor has any `$JS.API` right.
 */
export const permissionsOf = (id: Identity): Permissions | null => {
  switch (id.kind) {
    case 'admin':
      return null
    case 'node': {
      const eps = id.endpoints ?? []
      return {
        publish: [
          ...eps.map((e) => `${KV}.${e}`),
          ...eps.map(directGet),
          ...eps.flatMap((e) => l2tp(`ep.${e}.release.${id.name}`)),
        ],
        subscribe: [
          ...l2tp(`node.${id.nodeId ?? '-'}.>`),
          ...eps.flatMap((e) => l2tp(`ep.${e}.>`)),
          ...serviceControl(SERVICE_NODE),
          inbox(id.name),
        ],
        allowResponses: true,
      }
    }
    case 'registry':
      return {
        publish: [
          // Forward a public query to the instance that holds the endpoint's partition.
          ...l2tp('registry.p.>'),
          `$JS.API.DIRECT.GET.${STREAM}.>`,
          `$JS.API.STREAM.INFO.${STREAM}`,
          `$JS.API.CONSUMER.CREATE.${STREAM}`,
          `$JS.API.CONSUMER.CREATE.${STREAM}.>`,
          `$JS.API.CONSUMER.INFO.${STREAM}.>`,
          `$JS.API.CONSUMER.DELETE.${STREAM}.>`,
        ],
        subscribe: [...l2tp('registry.>'), ...serviceControl(SERVICE_REGISTRY), inbox(id.name)],
        allowResponses: true,
      }
    case 'operator':
      return {
        publish: [...queries, ...l2tp(`ep.*.*.${id.name}`), ...l2tp(`node.*.*.${id.name}`), ...discovery],
        subscribe: [inbox(id.name)],
        allowResponses: false,
      }
    case 'auditor':
      return { publish: [...queries, ...discovery], subscribe: [inbox(id.name)], allowResponses: false }
  }
}

const q = (s: string): string => JSON.stringify(s)
const list = (xs: readonly string[]): string => `[${xs.map(q).join(', ')}]`

const userBlock = (id: Identity): string => {
  const p = permissionsOf(id)
  const head =
    id.nkey === undefined
      ? `    { user: ${q(id.name)}, password: ${q(id.password)}`
      : `    # ${id.name}\n    { nkey: ${q(id.nkey.publicKey)}`
  if (p === null) return `${head} }`
  return [
    `${head}, permissions: {`,
    `        publish: { allow: ${list(p.publish)} }`,
    `        subscribe: { allow: ${list(p.subscribe)} }`,
    // A node runs several service instances on one connection, and each answers a discovery
    // request ($SRV.INFO) on the same reply subject: allow more than the default one response.
    ...(p.allowResponses ? ['        allow_responses: { max: 256, expires: "1m" }'] : []),
    '      } }',
  ].join('\n')
}

/** The authorization block of the generated server config, users sorted by name. */
export const renderAuthorization = (ids: readonly Identity[]): string =>
  [
    '# Generated by infra (infra/identities.ts) from the identity store; do not edit.',
    'authorization: {',
    '  users: [',
    ...[...ids].sort((a, b) => a.name.localeCompare(b.name)).map(userBlock),
    '  ]',
    '}',
    '',
  ].join('\n')
