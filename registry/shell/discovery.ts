// Fleet discovery through the NATS services API ($SRV.INFO / $SRV.STATS of the l2tp-node
// service, as `nats micro ls` does): the running service instances grouped by node (metadata
// nodeId), then each node's own status (l2tp.node.<id>.status), gathered with a timeout. A node
// that does not answer its status is named, never left out in silence (STYLE.md §12).
import * as E from 'fp-ts/lib/Either.js'
import {
  ErrorCode,
  type NatsConnection,
  NatsError,
  RequestStrategy,
  type ServiceInfo,
  type ServiceStats,
} from 'nats'
import {
  describeContractError,
  fromValidation,
  NodeStatus,
  nodeSubjects,
  Reply,
  SERVICE_NODE,
  unsafe,
} from '../../contracts/index.js'
import { messageOf } from './errors.js'
import { describeRequestError, request, subjectPrefixOf } from './nats-port.js'

/** One running l2tp-node service instance (a node runs one per command set). */
export interface ServiceInstance {
  readonly id: string
  readonly version: string
  /** From metadata, or from a `l2tp.node.<id>.status` endpoint; null if neither says. */
  readonly nodeId: string | null
  readonly endpointId: string | null
  /** When the instance started (ISO, from STATS), null if STATS did not answer. */
  readonly started: string | null
  readonly subjects: readonly string[]
  readonly requests: number
  readonly errors: number
}

export interface NodeRow {
  readonly nodeId: string
  readonly versions: readonly string[]
  readonly instances: number
  /** Earliest start among its instances (epoch ms), null if unknown. */
  readonly startedAt: number | null
  readonly status: NodeStatus | null
  /** Why there is no status (timeout, no responders, bad reply). */
  readonly problem: string | null
}

export interface FleetNodes {
  readonly nodes: readonly NodeRow[]
  /** Nodes that did not answer their status: the view is complete only without them. */
  readonly missing: ReadonlyArray<{ readonly nodeId: string; readonly reason: string }>
  /** Instances that name no node (an older l2tp-node without metadata and status endpoint). */
  readonly unattributed: readonly string[]
  readonly complete: boolean
}

const STATUS_SUBJECT = /^(?:[^.]+\.)?l2tp\.node\.([^.]+)\.status$/

/** Every answer until the wait ends; no responders at all (503) is an empty fleet, not a failure. */
const drain = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = []
  try {
    for await (const x of it) out.push(x)
  } catch (e) {
    if (!(e instanceof NatsError && e.code === ErrorCode.NoResponders)) throw e
  }
  return out
}

const noResponders = <T>(e: unknown): T[] => {
  if (e instanceof NatsError && e.code === ErrorCode.NoResponders) return []
  throw e
}

/** Every l2tp-node service instance that answers INFO within `waitMs` (STATS joined by id). */
export const discoverServices = async (nc: NatsConnection, waitMs: number): Promise<ServiceInstance[]> => {
  const client = nc.services.client({ strategy: RequestStrategy.Timer, maxWait: waitMs })
  const [infos, stats] = await Promise.all([
    client.info(SERVICE_NODE).then(drain<ServiceInfo>, noResponders<ServiceInfo>),
    client.stats(SERVICE_NODE).then(drain<ServiceStats>, noResponders<ServiceStats>),
  ])
  const statsById = new Map(stats.map((s) => [s.id, s]))
  // Discovery subjects carry no lab prefix: keep the instances of our own lab only.
  const lab = subjectPrefixOf(nc)
  return infos
    .filter((i) => (i.metadata?.subjectPrefix ?? '') === lab)
    .map((i) => {
      const subjects = i.endpoints.map((e) => e.subject)
      const fromSubject = subjects.map((s) => STATUS_SUBJECT.exec(s)?.[1]).find((x) => x !== undefined)
      const st = statsById.get(i.id)
      return {
        id: i.id,
        version: i.version,
        nodeId: i.metadata?.nodeId ?? fromSubject ?? null,
        endpointId: i.metadata?.endpointId ?? null,
        started: st?.started ?? null,
        subjects,
        requests: (st?.endpoints ?? []).reduce((n, e) => n + e.num_requests, 0),
        errors: (st?.endpoints ?? []).reduce((n, e) => n + e.num_errors, 0),
      }
    })
}

const StatusReply = Reply(NodeStatus)

/** Asks one node for its status; Left says why there is none. */
export const nodeStatus = async (
  nc: NatsConnection,
  nodeId: string,
  timeoutMs: number,
): Promise<E.Either<string, NodeStatus>> => {
  const subject = nodeSubjects(unsafe.nodeId(nodeId)).status
  const r = await request(nc, subject, { type: 'GetNodeStatus', v: 1 }, timeoutMs)()
  if (E.isLeft(r)) return E.left(describeRequestError(r.left))
  const d = StatusReply.decode(r.right)
  if (E.isLeft(d)) return E.left(describeContractError(fromValidation('status reply', d.left)))
  return d.right.ok ? E.right(d.right.result) : E.left(`${d.right.code}: ${d.right.message}`)
}

const earliest = (xs: ReadonlyArray<string | null>): number | null => {
  const ms = xs.flatMap((s) => (s === null ? [] : [Date.parse(s)])).filter((n) => !Number.isNaN(n))
  return ms.length === 0 ? null : Math.min(...ms)
}

/** Discovery, grouped by node, then every node's status in parallel (each bounded by timeoutMs). */
export const gatherNodes = async (
  nc: NatsConnection,
  discoveryMs: number,
  timeoutMs: number,
): Promise<FleetNodes> => {
  const instances = await discoverServices(nc, discoveryMs)
  const byNode = new Map<string, ServiceInstance[]>()
  for (const s of instances) {
    if (s.nodeId === null) continue
    byNode.set(s.nodeId, [...(byNode.get(s.nodeId) ?? []), s])
  }
  const ids = [...byNode.keys()].sort()
  const statuses = await Promise.all(
    ids.map((id) => nodeStatus(nc, id, timeoutMs).catch((e: unknown) => E.left(messageOf(e)))),
  )
  const nodes = ids.map((nodeId, i): NodeRow => {
    const group = byNode.get(nodeId) ?? []
    const st = statuses[i] ?? E.left('not asked')
    return {
      nodeId,
      versions: [...new Set(group.map((g) => g.version))].sort(),
      instances: group.length,
      startedAt: earliest(group.map((g) => g.started)),
      status: E.isRight(st) ? st.right : null,
      problem: E.isLeft(st) ? st.left : null,
    }
  })
  const missing = nodes.flatMap((n) => (n.problem === null ? [] : [{ nodeId: n.nodeId, reason: n.problem }]))
  const unattributed = instances.filter((s) => s.nodeId === null).map((s) => s.id)
  return { nodes, missing, unattributed, complete: missing.length === 0 && unattributed.length === 0 }
}
