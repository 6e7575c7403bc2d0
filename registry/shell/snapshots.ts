// Snapshot store on l2tp.snapshots (compacted): load the latest snapshot of every endpoint and
// the partition checkpoints; write snapshots of dirty endpoints, then the partition checkpoint.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import { CompressionTypes, type Producer } from 'kafkajs'
import { checkpointKey, groupToken, type Offset, PartitionCheckpoint, unsafe } from '../../contracts/index.js'
import {
  decodeSnapshot,
  type EndpointTable,
  encodeSnapshot,
  type Fleet,
  type SnapshotOf,
} from '../domain/index.js'
import { type EventLogDeps, partitionFor } from './event-log.js'
import { compareOffsets, partitionOffsets, readPartition } from './partition-reader.js'

export interface LoadedSnapshots {
  readonly fleet: Fleet
  /** l2tp.events partition -> offset to resume from. */
  readonly startOffsets: Map<number, Offset>
  readonly snapshots: number
  readonly undecodable: number
}

/** Reads the whole snapshots topic and keeps the last value of each key. */
export const loadSnapshots = async (deps: EventLogDeps): Promise<LoadedSnapshots> => {
  const offsets = await partitionOffsets(deps, deps.names.snapshots)()
  if (E.isLeft(offsets)) throw new Error(offsets.left.detail)
  const last = new Map<string, Buffer>()
  for (const p of offsets.right) {
    const r = await readPartition(
      deps,
      { topic: deps.names.snapshots, partition: p.partition, from: p.low, to: p.high },
      (records) => {
        for (const rec of records) if (rec.key !== null && rec.value !== null) last.set(rec.key, rec.value)
      },
    )()
    if (E.isLeft(r)) throw new Error(r.left.detail)
  }
  const fleet: Fleet = new Map()
  const startOffsets = new Map<number, Offset>()
  let undecodable = 0
  for (const [key, value] of last) {
    if (key.startsWith('__partition-')) {
      const json = J.parse(value.toString('utf8'))
      const c = E.isRight(json) ? PartitionCheckpoint.decode(json.right) : null
      if (c !== null && E.isRight(c)) startOffsets.set(c.right.partition, c.right.nextOffset)
      else undecodable++
      continue
    }
    const s = decodeSnapshot(value)
    if (E.isRight(s)) fleet.set(key, s.right.table)
    else undecodable++
  }
  return { fleet, startOffsets, snapshots: fleet.size, undecodable }
}

/** Writes snapshots of the given tables, then the checkpoint of their partition. */
export const writeSnapshots = async (
  producer: Pick<Producer, 'send'>,
  deps: EventLogDeps,
  partition: number,
  nextOffset: Offset,
  tables: readonly EndpointTable[],
): Promise<void> => {
  if (tables.length > 0) {
    await producer.send({
      topic: deps.names.snapshots,
      compression: CompressionTypes.GZIP,
      messages: tables.map((t) => ({
        key: t.endpointId,
        value: encodeSnapshot({ table: t, partition, nextOffset }),
      })),
    })
  }
  const checkpoint: PartitionCheckpoint = {
    type: 'PartitionCheckpoint',
    v: 1,
    partition,
    nextOffset,
    at: unsafe.millis(Date.now()),
  }
  await producer.send({
    topic: deps.names.snapshots,
    messages: [{ key: checkpointKey(partition), value: JSON.stringify(checkpoint) }],
  })
}

/**
 * The snapshot writer of one l2tp.events partition for one registry group: one transactional
 * producer per partition (transactional id `l2tp-registry-snapshots.<group>.<topic>.<partition>`).
 * Opening it (InitProducerId) fences every older writer of the partition, so a revoked instance
 * can never commit a snapshot after the new owner opened its own, and the new owner reads the
 * snapshots only after that. Snapshots and checkpoint go in one transaction, and a write never
 * goes back before the highest checkpoint this writer wrote or restored (`floor`).
 */
export interface SnapshotWriter {
  readonly partition: number
  /** Writes the tables and the checkpoint, or refuses (Fenced: the writer is done). */
  readonly write: (nextOffset: Offset, tables: readonly EndpointTable[]) => Promise<'written' | 'behind'>
  readonly close: () => Promise<void>
}

export const snapshotTransactionalId = (groupId: string, snapshotsTopic: string, partition: number): string =>
  `l2tp-registry-snapshots.${groupToken(groupId)}.${snapshotsTopic}.${partition}`

export const openSnapshotWriter = async (
  deps: EventLogDeps,
  groupId: string,
  partition: number,
): Promise<SnapshotWriter> => {
  const producer = deps.kafka.producer({
    transactionalId: snapshotTransactionalId(groupId, deps.names.snapshots, partition),
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  // InitProducerId runs at the first transaction: run it now, so that opening fences the old owner.
  const init = await producer.transaction()
  await init.abort()
  let floor: Offset | null = null
  const write: SnapshotWriter['write'] = async (nextOffset, tables) => {
    if (floor !== null && compareOffsets(nextOffset, floor) < 0) return 'behind'
    const tx = await producer.transaction()
    try {
      await writeSnapshots(tx, deps, partition, nextOffset, tables)
      await tx.commit()
    } catch (e) {
      await tx.abort().catch(() => undefined)
      throw e
    }
    floor = nextOffset
    return 'written'
  }
  return { partition, write, close: () => producer.disconnect() }
}

/** The latest snapshot of one endpoint: reads only the snapshots partition that holds its key. */
export const loadEndpointSnapshot = async (
  deps: EventLogDeps,
  endpointId: string,
): Promise<SnapshotOf | null> => {
  const offsets = await partitionOffsets(deps, deps.names.snapshots)()
  if (E.isLeft(offsets)) throw new Error(offsets.left.detail)
  const p = offsets.right.find((o) => o.partition === partitionFor(endpointId, offsets.right.length))
  if (p === undefined || compareOffsets(p.low, p.high) >= 0) return null
  let last: Buffer | null = null
  const r = await readPartition(
    deps,
    { topic: deps.names.snapshots, partition: p.partition, from: p.low, to: p.high },
    (records) => {
      for (const rec of records) if (rec.key === endpointId && rec.value !== null) last = rec.value
    },
  )()
  if (E.isLeft(r)) throw new Error(r.left.detail)
  if (last === null) return null
  const s = decodeSnapshot(last)
  return E.isRight(s) ? s.right : null
}
