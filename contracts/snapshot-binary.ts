// Binary snapshot records on l2tp.snapshots (docs/decisions.md, "Fold and snapshot speed"): the
// Snapshot codec's value written field by field in props order by the same compiler as the
// binary events (contracts/event-binary.ts), read back with every predicate of the codec.
// Header: 0x00 (no JSON text starts with it), 'S', the format (1). JSON snapshots stay readable. Pure.
import * as E from 'fp-ts/lib/Either.js'
import { type ContractError, contractError, fromValidation } from './errors.js'
import {
  BinaryFault,
  compileReader,
  compileWriter,
  partOf,
  Reader,
  Unrepresentable,
  Writer,
} from './event-binary.js'
import { Snapshot } from './snapshot.js'

export const SNAPSHOT_MAGIC = 0x00
/** 'S': a snapshot, not an event (events have their format byte here). */
export const SNAPSHOT_KIND = 0x53
export const SNAPSHOT_BINARY_FORMAT = 1

const part = partOf(Snapshot)
const read = compileReader(Snapshot)
const write = compileWriter(Snapshot)

/** Whether these bytes are a binary snapshot record (else JSON text). */
export const isBinarySnapshot = (bytes: Buffer): boolean =>
  bytes.length >= 3 && bytes[0] === SNAPSHOT_MAGIC && bytes[1] === SNAPSHOT_KIND

/**
 * A Snapshot value -> binary record. Arrays may be given as any array of values with the view's
 * fields (the registry passes its own records, in id order, rather than copies).
 */
export const encodeSnapshotBinary = (s: Snapshot): Buffer => {
  const w = new Writer()
  w.byte(SNAPSHOT_MAGIC)
  w.byte(SNAPSHOT_KIND)
  w.byte(SNAPSHOT_BINARY_FORMAT)
  try {
    write(w, s)
  } catch (x) {
    if (x instanceof Unrepresentable)
      throw new Error(`snapshot of ${s.endpointId} has no binary form: ${x.message}`)
    throw x
  }
  return w.bytes()
}

const fault = (problem: string) => E.left(contractError('snapshot', [`binary snapshot: ${problem}`]))

/** Binary record -> Snapshot, every field checked by the codec's predicates while reading. */
export const decodeSnapshotBinary = (bytes: Buffer): E.Either<ContractError, Snapshot> => {
  if (!isBinarySnapshot(bytes)) return fault("too short or no 0x00 'S' header")
  if (bytes[2] !== SNAPSHOT_BINARY_FORMAT) return fault(`format ${bytes[2]} is not ${SNAPSHOT_BINARY_FORMAT}`)
  const r = new Reader(bytes, 3)
  try {
    const s = read(r)
    if (r.pos !== bytes.length) throw new BinaryFault(`${bytes.length - r.pos} bytes after the record`)
    return E.right(s as Snapshot)
  } catch (e) {
    if (!(e instanceof BinaryFault)) throw e
    return explain(bytes, e.message)
  }
}

/** The slow path of a bad record: read it unchecked and let io-ts name the faulty field. */
const explain = (bytes: Buffer, problem: string): E.Either<ContractError, Snapshot> => {
  try {
    const r = Snapshot.decode(part.read(new Reader(bytes, 3)))
    if (E.isLeft(r)) return E.left(fromValidation('snapshot', r.left))
  } catch {
    // structurally broken: the fault found while reading says it best
  }
  return fault(problem)
}
