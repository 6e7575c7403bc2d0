// What every l2tpctl command gets: its options, the output, one NATS connection opened on first
// use, `ask` (a request whose reply is checked against its codec) and `pages` (a paged listing
// fetched page by page up to --limit).
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { DEFAULT_PAGE_LIMIT, fromValidation, Reply } from '../../../contracts/index.js'
import { connectNats, describeRequestError, type NatsConnection, request } from '../../shell/index.js'
import { natsFromEnv, parseTime } from '../env.js'
import type { Output } from './output.js'

/** Bad usage: exit 2. */
export class Usage extends Error {}
/** The command failed (not found, unreachable, refused, bad reply): exit 1. */
export class Failure extends Error {}

export type Values = Readonly<Record<string, string | boolean | undefined>>

export interface Ctx {
  readonly values: Values
  readonly out: Output
  readonly timeoutMs: number
  /** At most this many items of a listing (--limit); null: all. */
  readonly limit: number | null
  readonly nats: () => Promise<NatsConnection>
}

/** One l2tpctl command. */
export type Command = (c: Ctx) => Promise<void>

export const str = (v: Values, k: string): string | undefined => {
  const x = v[k]
  return typeof x === 'string' ? x : undefined
}
export const need = (v: string | undefined, what: string): string => {
  if (v === undefined || v === '') throw new Usage(`${what} is required`)
  return v
}
export const time = (v: string, flag: string): number => {
  const x = parseTime(v)
  if (x === null) throw new Usage(`${flag} must be epoch ms or ISO 8601, got '${v}'`)
  return x
}
export const idOf = (s: string, what: string): number => {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Usage(`${what} must be 1..65535, got '${s}'`)
  return n
}
export const wholeNumber = (s: string, flag: string, min = 0): number => {
  if (!/^\d+$/.test(s) || Number(s) < min)
    throw new Usage(`${flag} must be a whole number >= ${min}, got '${s}'`)
  return Number(s)
}

/** Connects to NATS once, on first use; `close` closes it if it was opened. */
export const lazyNats = (): { get: () => Promise<NatsConnection>; close: () => Promise<void> } => {
  let nc: Promise<NatsConnection> | null = null
  const get = () => {
    nc ??= connectNats({ ...natsFromEnv('operator'), name: 'l2tpctl' })().then((r) => {
      if (E.isLeft(r)) throw new Failure(`cannot reach NATS: ${r.left.detail}`)
      return r.right
    })
    return nc
  }
  const close = async () => {
    const c = await nc?.catch(() => null)
    await c?.close().catch(() => undefined)
  }
  return { get, close }
}

/** Sends a request; the reply must decode as `Reply(codec)`, and be ok, or the command fails. */
export const ask = async <C extends t.Mixed>(
  c: Ctx,
  subject: string,
  body: unknown,
  codec: C,
): Promise<t.TypeOf<C>> => {
  const r = await request(await c.nats(), subject, body, c.timeoutMs)()
  if (E.isLeft(r)) throw new Failure(describeRequestError(r.left))
  const reply = Reply(codec).decode(r.right)
  if (E.isLeft(reply)) {
    const problems = fromValidation('reply', reply.left).problems
    const first = (problems[0] ?? 'no detail').replace(/expected .{80,}?, got/, 'expected another shape, got')
    throw new Failure(
      `unexpected reply on ${subject} (${problems.length} problems), first ${first.slice(0, 200)}`,
    )
  }
  if (!reply.right.ok) throw new Failure(`${reply.right.code}: ${reply.right.message}`)
  return reply.right.result
}

/**
 * The pages of a listing, each as it comes, following `next` until the end or until --limit
 * items were given (the last page is cut to it).
 */
export async function* pages<P extends { readonly items: readonly unknown[]; readonly next: string | null }>(
  c: Ctx,
  subject: string,
  body: Record<string, unknown>,
  codec: t.Type<P, unknown, unknown>,
): AsyncGenerator<P> {
  let cursor: string | null = null
  let left = c.limit
  do {
    const limit = Math.min(left ?? DEFAULT_PAGE_LIMIT, DEFAULT_PAGE_LIMIT)
    const page: P = await ask(c, subject, { ...body, limit, ...(cursor === null ? {} : { cursor }) }, codec)
    const items = left === null ? page.items : page.items.slice(0, left)
    yield { ...page, items }
    if (left !== null) left -= items.length
    if (page.next !== null && page.next === cursor)
      throw new Failure(`the listing on ${subject} did not advance`)
    cursor = page.next
  } while (cursor !== null && (left === null || left > 0))
}
