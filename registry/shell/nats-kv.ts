// JetStream KV with compare-and-set: the endpoint lease bucket, bound (infra creates it), read
// by direct get, written by compare-and-set; and a read-only view for the registry. Shell.
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type KV, type NatsConnection, NatsError } from 'nats'
import { type InfraError, messageOf } from './errors.js'

export type CasResult =
  | { readonly _tag: 'Written'; readonly revision: number }
  /** Someone else wrote first: the expected revision is no longer current. */
  | { readonly _tag: 'Conflict'; readonly detail: string }

export interface KvBucket {
  readonly get: (key: string) => TE.TaskEither<InfraError, { value: Uint8Array; revision: number } | null>
  /** Every key with a value (an ordered consumer on the bucket's stream; the registry may). */
  readonly keys: () => TE.TaskEither<InfraError, string[]>
  /** Writes only if the key's revision is `expected` (0: only if the key does not exist). */
  readonly compareAndSet: (
    key: string,
    value: Uint8Array,
    expected: number,
  ) => TE.TaskEither<InfraError, CasResult>
}

const isCasConflict = (e: unknown): boolean =>
  /wrong last sequence|key exists/i.test(messageOf(e)) ||
  (e instanceof NatsError && e.api_error?.err_code === 10071)

/** A key's last value and revision; null when it has none (never written, deleted or purged). */
const getOf =
  (kv: KV): KvBucket['get'] =>
  (key) =>
    TE.tryCatch(
      async () => {
        const e = await kv.get(key)
        return e === null || e.operation !== 'PUT' ? null : { value: e.value, revision: e.revision }
      },
      (e) => ({ _tag: 'NatsFailed', op: 'kv.get', detail: messageOf(e) }),
    )

/**
 * Binds to a bucket infra created (the clients may not create or change it): no JetStream API
 * call at all on bind, reads by direct get of the key's last value, writes by publish.
 */
export const openKv = (nc: NatsConnection, bucket: string): TE.TaskEither<InfraError, KvBucket> =>
  TE.tryCatch(
    async () => {
      const kv: KV = await nc
        .jetstream({ checkAPI: false })
        .views.kv(bucket, { bindOnly: true, allow_direct: true })
      const get = getOf(kv)
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
      const keys: KvBucket['keys'] = () =>
        TE.tryCatch(
          async () => {
            const out: string[] = []
            for await (const k of await kv.keys()) out.push(k)
            return out
          },
          (e) => ({ _tag: 'NatsFailed', op: 'kv.keys', detail: messageOf(e) }),
        )
      return { get, keys, compareAndSet }
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
      const get = getOf(kv)
      return { get }
    },
    (e) => ({ _tag: 'NatsFailed', op: 'kv.open', detail: messageOf(e) }),
  )
