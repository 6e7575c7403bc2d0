// Snapshot store on l2tp.snapshots (compacted): load the latest snapshot of every endpoint and
// the partition checkpoints; write snapshots of dirty endpoints, then the partition checkpoint.
import * as E from 'fp-ts/lib/Either.js'
import * as J from 'fp-ts/lib/Json.js'
import { CompressionTypes, type Producer } from 'kafkajs'
import { checkpointKey, type Offset, PartitionCheckpoint, unsafe } from '../../contracts/index.js'
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
  producer: Producer,
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
