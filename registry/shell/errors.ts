// Typed failures of the shells' I/O (STYLE.md §4: map library errors to a tag at the call).

export type InfraError =
  /** Another producer with the same transactional id took over: this writer must stop. */
  | { readonly _tag: 'Fenced'; readonly transactionalId: string; readonly detail: string }
  /** The broker did not answer, or answered with an error; the operation may be retried. */
  | { readonly _tag: 'KafkaFailed'; readonly op: string; readonly detail: string }
  | { readonly _tag: 'NatsFailed'; readonly op: string; readonly detail: string }
  /** Retention has cut the log's start and no snapshot covers what it dropped. */
  | { readonly _tag: 'SnapshotGap'; readonly partition: number; readonly detail: string }

const FENCING = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTION_COORDINATOR_FENCED'])
const FENCING_CODES = new Set([47, 52, 90])

interface ErrorLike {
  readonly type?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly cause?: unknown
  readonly originalError?: unknown
}

/** Walks kafkajs' wrapping (retries exceeded -> cause -> protocol error) looking for fencing. */
export const isFencing = (e: unknown, depth = 0): boolean => {
  if (typeof e !== 'object' || e === null || depth > 5) return false
  const x = e as ErrorLike
  if (typeof x.type === 'string' && FENCING.has(x.type)) return true
  if (typeof x.code === 'number' && FENCING_CODES.has(x.code)) return true
  if (
    typeof x.message === 'string' &&
    /fenced|old epoch|newer producer with the same transactionalId/i.test(x.message)
  ) {
    return true
  }
  return isFencing(x.cause, depth + 1) || isFencing(x.originalError, depth + 1)
}

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export const kafkaError =
  (op: string, transactionalId: string | null) =>
  (e: unknown): InfraError =>
    transactionalId !== null && isFencing(e)
      ? { _tag: 'Fenced', transactionalId, detail: messageOf(e) }
      : { _tag: 'KafkaFailed', op, detail: messageOf(e) }

export const describeInfraError = (e: InfraError): string =>
  e._tag === 'Fenced'
    ? `fenced: ${e.transactionalId} (${e.detail})`
    : e._tag === 'SnapshotGap'
      ? `snapshot gap in partition ${e.partition}: ${e.detail}`
      : `${e._tag} in ${e.op}: ${e.detail}`

/** Retries an admin call through the moments right after topic creation or a broker restart. */
export const withRetry = async <A>(f: () => Promise<A>, tries = 20, pauseMs = 250): Promise<A> => {
  for (let i = 1; ; i++) {
    try {
      return await f()
    } catch (e) {
      if (i >= tries || isFencing(e)) throw e
      await new Promise((r) => setTimeout(r, pauseMs))
    }
  }
}
