// The NATS port: connect as a role, serve request/reply endpoints with the services API
// (discoverable like `nats micro`), send typed requests, and lease CAS in JetStream KV.
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type * as t from 'io-ts'
import { connect, ErrorCode, type KV, type NatsConnection, type NatsError, type Service } from 'nats'
import { describeContractError, errorReply, parseRequest, type Reply } from '../../contracts/index.js'
import { type InfraError, messageOf } from './errors.js'

export type { NatsConnection } from 'nats'

export interface NatsDeps {
  readonly servers: string
  readonly user: string
  readonly pass: string
  readonly name: string
}

export const connectNats = (d: NatsDeps): TE.TaskEither<InfraError, NatsConnection> =>
  TE.tryCatch(
    () => connect({ servers: d.servers, user: d.user, pass: d.pass, name: d.name, maxReconnectAttempts: -1 }),
    (e) => ({ _tag: 'NatsFailed', op: 'connect', detail: messageOf(e) }),
  )

export interface Endpoint<C extends t.Mixed, A> {
  readonly name: string
  readonly subject: string
  readonly request: C
  readonly handle: (req: t.TypeOf<C>) => Promise<Reply<A>>
}

/** Builds an endpoint with its request type inferred from the codec. */
export const endpoint = <C extends t.Mixed, A>(e: Endpoint<C, A>): Endpoint<t.Mixed, unknown> =>
  e as unknown as Endpoint<t.Mixed, unknown>

export interface ServiceSpec {
  readonly name: string
  readonly version: string
  readonly description: string
  /** Services API metadata (INFO), e.g. the node id (nodeServiceMetadata). */
  readonly metadata?: Record<string, string>
}

const encoder = new TextEncoder()

/**
 * Serves endpoints under one micro service. A request that does not decode gets a BadRequest
 * reply with the path of the fault (and the services API error headers), never a timeout.
 */
export const serve = async (
  nc: NatsConnection,
  spec: ServiceSpec,
  endpoints: ReadonlyArray<Endpoint<t.Mixed, unknown>>,
): Promise<Service> => {
  const srv = await nc.services.add({
    name: spec.name,
    version: spec.version,
    description: spec.description,
    ...(spec.metadata === undefined ? {} : { metadata: spec.metadata }),
  })
  for (const ep of endpoints) {
    srv.addEndpoint(ep.name, {
      subject: ep.subject,
      handler: (err, msg) => {
        if (err !== null) return
        const req = parseRequest(ep.request, msg.data)
        if (E.isLeft(req)) {
          const body = errorReply('BadRequest', describeContractError(req.left))
          msg.respondError(400, body.message, encoder.encode(JSON.stringify(body)))
          return
        }
        ep.handle(req.right).then(
          (reply) => msg.respond(encoder.encode(JSON.stringify(reply))),
          (e: unknown) => {
            const body = errorReply('Internal', messageOf(e))
            msg.respondError(500, body.message, encoder.encode(JSON.stringify(body)))
          },
        )
      },
    })
  }
  return srv
}

/** Why a request got no reply. */
export type RequestError =
  | { readonly _tag: 'PermissionDenied'; readonly subject: string; readonly detail: string }
  | { readonly _tag: 'NoResponders'; readonly subject: string }
  | { readonly _tag: 'Timeout'; readonly subject: string }
  | { readonly _tag: 'BadReply'; readonly subject: string; readonly detail: string }
  | { readonly _tag: 'Failed'; readonly subject: string; readonly detail: string }

const requestError = (subject: string, e: unknown): RequestError => {
  const code = (e as Partial<NatsError>).code
  if (code === ErrorCode.PermissionsViolation)
    return { _tag: 'PermissionDenied', subject, detail: messageOf(e) }
  if (code === ErrorCode.NoResponders) return { _tag: 'NoResponders', subject }
  if (code === ErrorCode.Timeout) return { _tag: 'Timeout', subject }
  return { _tag: 'Failed', subject, detail: messageOf(e) }
}

/** Sends a JSON request and returns the parsed JSON reply (callers decode it with its codec). */
export const request =
  (
    nc: NatsConnection,
    subject: string,
    body: unknown,
    timeoutMs = 5000,
  ): TE.TaskEither<RequestError, unknown> =>
  async () => {
    try {
      const msg = await nc.request(subject, encoder.encode(JSON.stringify(body)), { timeout: timeoutMs })
      try {
        return E.right(JSON.parse(Buffer.from(msg.data).toString('utf8')) as unknown)
      } catch (e) {
        return E.left({ _tag: 'BadReply', subject, detail: messageOf(e) })
      }
    } catch (e) {
      return E.left(requestError(subject, e))
    }
  }

export const describeRequestError = (e: RequestError): string => {
  switch (e._tag) {
    case 'PermissionDenied':
      return `not permitted to send ${e.subject}: ${e.detail}`
    case 'NoResponders':
      return `no service answers ${e.subject}`
    case 'Timeout':
      return `no reply on ${e.subject} in time`
    case 'BadReply':
    case 'Failed':
      return `${e.subject}: ${e.detail}`
  }
}

// --- JetStream KV with compare-and-set ----------------------------------------------------

export type CasResult =
  | { readonly _tag: 'Written'; readonly revision: number }
  /** Someone else wrote first: the expected revision is no longer current. */
  | { readonly _tag: 'Conflict'; readonly detail: string }

export interface KvBucket {
  readonly get: (key: string) => TE.TaskEither<InfraError, { value: Uint8Array; revision: number } | null>
  /** Writes only if the key's revision is `expected` (0: only if the key does not exist). */
  readonly compareAndSet: (
    key: string,
    value: Uint8Array,
    expected: number,
  ) => TE.TaskEither<InfraError, CasResult>
}

const isCasConflict = (e: unknown): boolean =>
  /wrong last sequence|key exists/i.test(messageOf(e)) ||
  (e as { api_error?: { err_code?: number } }).api_error?.err_code === 10071

export const openKv = (
  nc: NatsConnection,
  bucket: string,
  historyTtlMs = 0,
): TE.TaskEither<InfraError, KvBucket> =>
  TE.tryCatch(
    async () => {
      const kv: KV = await nc
        .jetstream()
        .views.kv(bucket, { history: 1, ...(historyTtlMs > 0 ? { ttl: historyTtlMs } : {}) })
      const get: KvBucket['get'] = (key) =>
        TE.tryCatch(
          async () => {
            const e = await kv.get(key)
            return e === null || e.operation !== 'PUT' ? null : { value: e.value, revision: e.revision }
          },
          (e) => ({ _tag: 'NatsFailed', op: 'kv.get', detail: messageOf(e) }),
        )
      const compareAndSet: KvBucket['compareAndSet'] = (key, value, expected) => async () => {
        try {
          const revision =
            expected === 0 ? await kv.create(key, value) : await kv.update(key, value, expected)
          return E.right({ _tag: 'Written', revision })
        } catch (e) {
          if (isCasConflict(e)) return E.right({ _tag: 'Conflict', detail: messageOf(e) })
          return E.left({ _tag: 'NatsFailed', op: 'kv.compareAndSet', detail: messageOf(e) })
        }
      }
      return { get, compareAndSet }
    },
    (e) => ({ _tag: 'NatsFailed', op: 'kv.open', detail: messageOf(e) }),
  )

/** Read-only access to a bucket: direct get only, never creates it (clients bind, infra creates). */
export interface KvReader {
  readonly get: KvBucket['get']
}

/**
 * Binds to an existing bucket and reads keys by direct get ($JS.API.DIRECT.GET): no stream
 * creation or info request, so a read-only identity suffices. A missing bucket shows as a
 * failing get (its detail names it), not as an error here.
 */
export const openKvReader = (
  nc: NatsConnection,
  bucket: string,
  timeoutMs = 2000,
): TE.TaskEither<InfraError, KvReader> =>
  TE.tryCatch(
    async () => {
      const kv: KV = await nc
        .jetstream({ checkAPI: false })
        .views.kv(bucket, { bindOnly: true, allow_direct: true, timeout: timeoutMs })
      const get: KvReader['get'] = (key) =>
        TE.tryCatch(
          async () => {
            const e = await kv.get(key)
            return e === null || e.operation !== 'PUT' ? null : { value: e.value, revision: e.revision }
          },
          (e) => ({ _tag: 'NatsFailed', op: 'kv.get', detail: messageOf(e) }),
        )
      return { get }
    },
    (e) => ({ _tag: 'NatsFailed', op: 'kv.open', detail: messageOf(e) }),
  )
