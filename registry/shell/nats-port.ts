// The NATS port: connect as a role, serve request/reply endpoints with the services API
// (discoverable like `nats micro`), send typed requests, and lease CAS in JetStream KV.

import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type * as t from 'io-ts'
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  ErrorCode,
  type NatsConnection,
  NatsError,
  nkeyAuthenticator,
  type Service,
  type ServiceMsg,
  type TlsOptions,
} from 'nats'
import {
  describeContractError,
  type ErrorReply,
  errorReply,
  parseRequest,
  type Reply,
} from '../../contracts/index.js'
import { type InfraError, messageOf } from './errors.js'
import { NATS_STOP_MS, settlesWithin } from './nats-lifecycle.js'

export type { NatsConnection } from 'nats'

/** TLS toward NATS: a CA to trust, and a client certificate and key (mutual TLS). */
export interface NatsTls {
  readonly caFile?: string
  readonly certFile?: string
  readonly keyFile?: string
}

export interface NatsDeps {
  /** One server or a comma list (NATS_URL of a cluster): nats.js gets them as a list. */
  readonly servers: string
  readonly name: string
  /**
   * The identity: its NATS user name, the issuer token of its state-changing requests
   * (issuedSubject) and its inbox prefix (`_INBOX.<user>`, the only inboxes it may read).
   */
  readonly user: string
  /** Password login (with `user`). */
  readonly pass?: string
  /** Nkey login: a file holding the seed (SU...). */
  readonly nkeySeedFile?: string
  /** JWT login: a .creds file (decentralised auth). */
  readonly credsFile?: string
  readonly tls?: NatsTls
  /** One-token lab prefix (`lab1.`) put before every l2tp subject this connection serves or asks. */
  readonly subjectPrefix?: string
  /** Why no credentials were found: connecting fails with it (never tries another role's). */
  readonly missing?: string
  /** How long the first connect may take (nats.js default 20 s). */
  readonly timeoutMs?: number
}

const prefixes = new WeakMap<NatsConnection, string>()
/** The subject as sent on this connection: its lab prefix (NatsDeps.subjectPrefix) and `subject`. */
export const onWire = (nc: NatsConnection, subject: string): string => `${prefixes.get(nc) ?? ''}${subject}`
/** The lab prefix of this connection ('' when none). */
export const subjectPrefixOf = (nc: NatsConnection): string => prefixes.get(nc) ?? ''

const authOf = (d: NatsDeps): Partial<ConnectionOptions> => {
  if (d.credsFile !== undefined) return { authenticator: credsAuthenticator(readFileSync(d.credsFile)) }
  if (d.nkeySeedFile !== undefined)
    return {
      authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(d.nkeySeedFile, 'utf8').trim())),
    }
  return { user: d.user, ...(d.pass === undefined ? {} : { pass: d.pass }) }
}

const tlsOf = (t: NatsTls): TlsOptions => ({
  ...(t.caFile === undefined ? {} : { caFile: t.caFile }),
  ...(t.certFile === undefined ? {} : { certFile: t.certFile }),
  ...(t.keyFile === undefined ? {} : { keyFile: t.keyFile }),
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const isAuthViolation = (e: unknown): boolean =>
  e instanceof NatsError && e.code === ErrorCode.AuthorizationViolation

/**
 * Connects as the identity of `d`. A login refused as an authorization violation is tried again a
 * few times: nats-server 2.9 refuses a client whose CONNECT it handles while it reloads its config
 * (a new identity was granted), even with valid credentials. Wrong credentials still fail (~1 s).
 */
export const connectNats = (d: NatsDeps): TE.TaskEither<InfraError, NatsConnection> =>
  d.missing !== undefined
    ? TE.left({ _tag: 'NatsFailed', op: 'connect', detail: d.missing })
    : TE.tryCatch(
        async () => {
          const options: ConnectionOptions = {
            servers: d.servers
              .split(',')
              .map((x) => x.trim())
              .filter((x) => x !== ''),
            name: d.name,
            inboxPrefix: `_INBOX.${d.user}`,
            maxReconnectAttempts: -1,
            ...(d.timeoutMs === undefined ? {} : { timeout: d.timeoutMs }),
            ...authOf(d),
            ...(d.tls === undefined ? {} : { tls: tlsOf(d.tls) }),
          }
          for (let attempt = 1; ; attempt++) {
            try {
              const nc = await connect(options)
              if (d.subjectPrefix !== undefined && d.subjectPrefix !== '') prefixes.set(nc, d.subjectPrefix)
              return nc
            } catch (e) {
              if (!isAuthViolation(e) || attempt >= 5) throw e
              await sleep(200)
            }
          }
        },
        (e) => ({ _tag: 'NatsFailed', op: 'connect', detail: messageOf(e) }),
      )

/** What a handler knows about the request besides its body. */
export interface RequestContext {
  /** The subject the request came on (with the issuer token of an issued endpoint). */
  readonly subject: string
  /**
   * The authenticated identity that sent a state-changing request: the last token of the subject
   * of an issued endpoint (the server lets each user publish only subjects ending in its own
   * name). Null on endpoints that are not issued.
   */
  readonly issuer: string | null
}

export interface Endpoint<C extends t.Mixed, A> {
  readonly name: string
  readonly subject: string
  readonly request: C
  /** State-changing: served on `subject.*`, the trailing token is the issuer (RequestContext). */
  readonly issued?: boolean
  readonly handle: (req: t.TypeOf<C>, ctx: RequestContext) => Promise<Reply<A>>
}

/** Builds an endpoint with its request type inferred from the codec. */
export const endpoint = <C extends t.Mixed, A>(e: Endpoint<C, A>): Endpoint<t.Mixed, unknown> => ({
  name: e.name,
  subject: e.subject,
  request: e.request,
  ...(e.issued === undefined ? {} : { issued: e.issued }),
  // The request was decoded with e.request before a handler runs (answer, partition forwards).
  handle: (req: t.TypeOf<C>, ctx: RequestContext) => e.handle(req, ctx),
})

export interface IssuedEndpoint<C extends t.Mixed, A> {
  readonly name: string
  /** The subject without the issuer token (callers send `issuedSubject(subject, user)`). */
  readonly subject: string
  readonly request: C
  readonly handle: (
    req: t.TypeOf<C>,
    ctx: { readonly subject: string; readonly issuer: string },
  ) => Promise<Reply<A>>
}

/** A state-changing endpoint: served on `subject.<issuer>`, handled with the authenticated issuer. */
export const issuedEndpoint = <C extends t.Mixed, A>(e: IssuedEndpoint<C, A>): Endpoint<t.Mixed, unknown> =>
  endpoint({
    name: e.name,
    subject: e.subject,
    request: e.request,
    issued: true,
    handle: async (req: t.TypeOf<C>, ctx: RequestContext): Promise<Reply<A>> =>
      ctx.issuer === null
        ? errorReply('BadRequest', `${ctx.subject}: no issuer token`)
        : e.handle(req, { subject: ctx.subject, issuer: ctx.issuer }),
  })

/** The issuer token of a request on an issued endpoint: the last token of its subject. */
const issuerToken = (subject: string): string | null => {
  const token = subject.slice(subject.lastIndexOf('.') + 1)
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(token) ? token : null
}

export interface ServiceSpec {
  readonly name: string
  readonly version: string
  readonly description: string
  /** Services API metadata (INFO), e.g. the node id (nodeServiceMetadata). */
  readonly metadata?: Record<string, string>
}

const encoder = new TextEncoder()

/** Room left below the server's max_payload for the services API headers of a reply. */
const HEADROOM_BYTES = 16 * 1024
/** max_payload when the server has not said (nats-server's own default). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** The services API status of an error reply (Nats-Service-Error-Code). */
const STATUS: Record<ErrorReply['code'], number> = {
  BadRequest: 400,
  NotFound: 404,
  NotOwner: 409,
  Conflict: 409,
  TooLarge: 413,
  Busy: 429,
  Unavailable: 503,
  Internal: 500,
}

/** A reply as bytes that fit in one message, or the error reply to send instead. */
const encodeReply = (body: unknown, limit: number): E.Either<ErrorReply, Uint8Array> => {
  let text: string | undefined
  try {
    text = JSON.stringify(body)
  } catch (e) {
    return E.left(errorReply('Internal', `the reply could not be encoded: ${messageOf(e)}`))
  }
  if (text === undefined) return E.left(errorReply('Internal', 'the reply could not be encoded: nothing'))
  // UTF-8 is at most 3 bytes per UTF-16 unit: encode only when the text might not fit.
  const bytes = text.length * 3 <= limit ? null : encoder.encode(text)
  if (bytes !== null && bytes.length > limit)
    return E.left(
      errorReply(
        'TooLarge',
        `the reply (${bytes.length} bytes) exceeds the ${limit} bytes one message may carry: ask for a smaller page`,
      ),
    )
  return E.right(bytes ?? encoder.encode(text))
}

/** Sends an error reply; if even that fails the requester times out (nothing else to do). */
const respondFailure = (msg: ServiceMsg, body: ErrorReply): void => {
  try {
    const text = JSON.stringify({ ok: false, code: body.code, message: body.message.slice(0, 2000) })
    msg.respondError(
      STATUS[body.code],
      body.message.replace(/[\r\n]+/g, ' ').slice(0, 200),
      encoder.encode(text),
    )
  } catch {
    // The connection is closed or draining: no reply can be sent.
  }
}

const respondWith = (nc: NatsConnection, msg: ServiceMsg, reply: unknown): void => {
  const bytes = encodeReply(reply, (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADROOM_BYTES)
  if (E.isLeft(bytes)) return respondFailure(msg, bytes.left)
  try {
    msg.respond(bytes.right)
  } catch (e) {
    respondFailure(msg, errorReply('Internal', `the reply could not be sent: ${messageOf(e)}`))
  }
}

/** Runs a handler so that nothing it does (throw, reject) escapes: a failure becomes a reply. */
const answer = async (nc: NatsConnection, ep: Endpoint<t.Mixed, unknown>, msg: ServiceMsg): Promise<void> => {
  try {
    const req = parseRequest(ep.request, msg.data)
    if (E.isLeft(req)) return respondFailure(msg, errorReply('BadRequest', describeContractError(req.left)))
    const ctx = { subject: msg.subject, issuer: ep.issued === true ? issuerToken(msg.subject) : null }
    respondWith(nc, msg, await ep.handle(req.right, ctx))
  } catch (e) {
    respondFailure(msg, errorReply('Internal', messageOf(e)))
  }
}

/**
 * Serves endpoints under one micro service. Every request gets a reply, never a timeout and
 * never a throw out of the handler: one that does not decode gets BadRequest with the path of
 * the fault; a handler that throws or rejects, Internal; a reply that cannot be encoded,
 * Internal; one above the server's max payload, TooLarge (with the services API error headers).
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
    // The lab prefix goes in the metadata too: discovery ($SRV) is not prefixed, so a lab's
    // `l2tpctl nodes` keeps only the instances of its own prefix.
    metadata: { ...(spec.metadata ?? {}), subjectPrefix: subjectPrefixOf(nc) },
  })
  for (const ep of endpoints) {
    srv.addEndpoint(ep.name, {
      subject: onWire(nc, ep.issued === true ? `${ep.subject}.*` : ep.subject),
      handler: (err, msg) => {
        if (err === null) void answer(nc, ep, msg)
      },
    })
  }
  // Resolve only once the server has the subscriptions: a request sent right after (from any
  // connection) then finds its responder instead of NoResponders. Bounded: a server that is away
  // (the client reconnects and resubscribes by itself) cannot hold a start or a takeover up.
  await settlesWithin(nc.flush(), NATS_STOP_MS)
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
  const code = e instanceof NatsError ? e.code : null
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
      const msg = await nc.request(onWire(nc, subject), encoder.encode(JSON.stringify(body)), {
        timeout: timeoutMs,
      })
      try {
        const body: unknown = JSON.parse(Buffer.from(msg.data).toString('utf8'))
        return E.right(body)
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
