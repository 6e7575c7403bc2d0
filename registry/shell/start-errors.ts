// Operational failures at start as one readable line (no stack trace): the CLIs (l2tp-node,
// l2tp-registry) print it and exit 1. Shell.

/** A start-up failure whose message is already the one line to print. */
export class StartFailure extends Error {}

const CODES: Record<string, string> = {
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available on this host',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (name resolution failed)',
  EACCES: 'permission denied',
  ECONNREFUSED: 'connection refused',
}

const codeOf = (e: unknown): string | null =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : null

/** One line for an error: its system code in words when it has one, else its message's first line. */
export const reasonOf = (e: unknown): string => {
  const code = codeOf(e)
  if (code !== null && CODES[code] !== undefined) return CODES[code]
  const msg = e instanceof Error ? e.message : String(e)
  return msg.split('\n')[0] ?? msg
}

/** Runs a start step; a failure becomes a StartFailure named after `what`. */
export const step = async <A>(what: string, run: () => Promise<A>): Promise<A> => {
  try {
    return await run()
  } catch (e) {
    if (e instanceof StartFailure) throw e
    throw new StartFailure(`${what}: ${reasonOf(e)}`)
  }
}
