// A partition checkpoint on l2tp.snapshots (key `__partition-<n>`): every endpoint of that
// l2tp.events partition that had events before `nextOffset` has a snapshot covering them. Pure.
import * as t from 'io-ts'
import { Millis, Offset } from './ids.js'
import { Count } from './parts.js'

export const PartitionCheckpoint = t.type({
  type: t.literal('PartitionCheckpoint'),
  v: t.literal(1),
  partition: Count,
  nextOffset: Offset,
  at: Millis,
})
export type PartitionCheckpoint = t.TypeOf<typeof PartitionCheckpoint>

export const checkpointKey = (partition: number): string => `__partition-${partition}`
