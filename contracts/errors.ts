// ContractError: why bytes or JSON did not decode to a contract type, with the path of the fault.
import type * as t from 'io-ts'
import { IntersectionType, UnionType } from 'io-ts'

export interface ContractError {
  readonly _tag: 'ContractError'
  /** What was being decoded (e.g. 'event', 'command', 'snapshot'). */
  readonly what: string
  /** One line per failing path, e.g. "at .localTunnelId: expected TunnelId, got 0". */
  readonly problems: readonly string[]
}

export const contractError = (what: string, problems: readonly string[]): ContractError => ({
  _tag: 'ContractError',
  what,
  problems,
})

const show = (u: unknown): string => {
  if (typeof u === 'string') return JSON.stringify(u.length > 60 ? `${u.slice(0, 60)}…` : u)
  if (u === undefined) return 'nothing'
  try {
    const s = JSON.stringify(u)
    return s === undefined ? String(u) : s.length > 60 ? `${s.slice(0, 60)}…` : s
  } catch {
    // Too deep to print (JSON.stringify and String both recurse), or a cycle.
    return Array.isArray(u)
      ? 'a deeply nested array'
      : typeof u === 'object'
        ? 'a deeply nested object'
        : typeof u
  }
}

/** Maps io-ts errors to one readable line per leaf: the dotted path, what was expected, what came. */
export const fromValidation = (what: string, errors: t.Errors): ContractError => {
  const lines = errors.map((e) => {
    const path: string[] = []
    for (let i = 1; i < e.context.length; i++) {
      const parent = e.context[i - 1]
      const entry = e.context[i]
      // Union and intersection members appear as numeric keys: they are not part of the data path.
      if (
        entry === undefined ||
        parent === undefined ||
        parent.type instanceof UnionType ||
        parent.type instanceof IntersectionType
      )
        continue
      path.push(entry.key)
    }
    if (e.message !== undefined) return `at .${path.join('.')}: ${e.message}`
    const expected = e.context[e.context.length - 1]?.type.name ?? 'value'
    return `at .${path.join('.')}: expected ${expected}, got ${show(e.value)}`
  })
  return contractError(what, [...new Set(lines)])
}

export const describeContractError = (e: ContractError): string =>
  `invalid ${e.what}: ${e.problems.join('; ')}`
