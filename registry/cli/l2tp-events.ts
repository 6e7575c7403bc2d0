#!/usr/bin/env node
// l2tp-events: reads raw l2tp.events values framed by kcat (`-f '%R%s'`) on stdin and writes
// one NDJSON line per record: the event as JSON, or {error, rawBase64} for one that does not decode.
import { framesToNdjson } from '../../contracts/event-frames.js'

const HELP = `l2tp-events: l2tp.events records (binary or JSON) as NDJSON

Usage: kcat -C -b BROKER -t l2tp.events -e -f '%R%s' | l2tp-events
`

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP)
  process.exit(0)
}
let pending = Buffer.alloc(0)
process.stdin.on('data', (chunk: Buffer) => {
  const { lines, rest } = framesToNdjson(Buffer.concat([pending, chunk]))
  pending = Buffer.from(rest)
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`)
})
process.stdin.on('end', () => {
  if (pending.length > 0) {
    process.stderr.write(`l2tp-events: ${pending.length} bytes of an incomplete record at the end\n`)
    process.exitCode = 1
  }
})
