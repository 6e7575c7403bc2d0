// Tunnels by peer host, for what is asked on every new SCCRQ (a tie-breaker rival, a source's
// half-open tunnels) without a scan of every tunnel. An entry that no longer qualifies is pruned
// when its host is read; hosts that are never read again are swept, so the index stays bounded.
// Sans-IO.
import type { Engine, Tunnel } from './types.js'

export type HostIndex = Map<string, Tunnel[]>

/** Whether an indexed tunnel still belongs under its host (the index's own rule). */
export type Qualifies = (e: Engine, t: Tunnel) => boolean

/** The tunnels under `host` that still qualify; the others leave the index. */
export const liveUnder = (e: Engine, index: HostIndex, host: string, live: Qualifies): Tunnel[] => {
  const list = index.get(host)
  if (list === undefined) return []
  const kept = list.filter((t) => live(e, t))
  if (kept.length === 0) index.delete(host)
  else if (kept.length !== list.length) index.set(host, kept)
  return kept
}

/**
 * Files `t` under its peer host. Every 256th entry of one host prunes that host; once hosts
 * number over 1,024 and over twice the tunnels, every host is pruned (amortised: each sweep
 * follows at least as many additions as it reads entries).
 */
export const fileUnder = (e: Engine, index: HostIndex, t: Tunnel, live: Qualifies): void => {
  const host = t.peer.host
  const list = index.get(host)
  if (list === undefined) index.set(host, [t])
  else if (list.push(t) % 256 === 0) liveUnder(e, index, host, live)
  if (index.size > 1024 && index.size > 2 * e.tunnels.size)
    for (const h of [...index.keys()]) liveUnder(e, index, h, live)
}
