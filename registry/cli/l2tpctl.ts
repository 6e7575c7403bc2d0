#!/usr/bin/env node
// l2tpctl: the operator CLI. Live views through the registry over NATS; forensics (export,
// diff) read Kafka directly; replay works on an exported file with no broker at all. Commands
// live in ctl/ (node-commands.ts, registry-commands.ts) and are registered in `commands` below.
import { parseArgs } from 'node:util'
import { type Command, type Ctx, lazyNats, str, Usage, type Values, wholeNumber } from './ctl/context.js'
import { nodeCommands } from './ctl/node-commands.js'
import { type Format, flushed, Output, PipeClosed } from './ctl/output.js'
import { registryCommands } from './ctl/registry-commands.js'
import { FLEET_HELP, fleetCommands } from './ctl-fleet.js'
import { CREDENTIALS_HELP } from './env.js'

const HELP = `l2tpctl: operate and investigate the L2TP registry

Usage: l2tpctl COMMAND [options] [--json | --ndjson]

Commands:
  endpoints [--owner N] [--state active|inactive]
                                              every endpoint: owner, epoch, tunnels, sessions, consistency
  state --endpoint X [--as-of TIME | --offset N] [FILTER]
                                              an endpoint's table, live or as of a time / an offset of its partition
  timeline --tunnel X/TID | --session X/TID/SID
                                              every event of a tunnel or session, operator commands included
  export [--from TIME] --to TIME              the range as NDJSON on stdout (state at --from, then the events)
  replay --file FILE [--as-of TIME] [--endpoint X]
                                              fold an exported file offline (no broker needed)
  diff --from TIME --to TIME [--endpoint X]   tunnels and sessions added, removed, changed between two times

Node commands (answered by the node serving the endpoint; audited as CommandApplied events):
  node --node N                               a node's status: endpoints it serves, endpoints it stands by for
  tunnels --endpoint X [FILTER]               the serving node's tunnels (with session counts)
  sessions --endpoint X [--tunnel TID] [FILTER]
                                              the serving node's sessions
  close-tunnel --endpoint X --tunnel TID [--reason TEXT]
                                              StopCCN (result 1) to the peer; the tunnel and its sessions close
  close-session --endpoint X --session TID/SID [--reason TEXT]
                                              CDN (result 3) to the peer
  sync --endpoint X [--tunnel TID]            RFC 4951 session synchronisation on demand (FSQ/FSR)
  drain --endpoint X                          refuse new tunnels and sessions; established ones stay
  undrain --endpoint X                        lift the drain (outbox pressure still refuses while it lasts)
  release --endpoint X                        planned switchover: the owner hands the endpoint to a standby
  takeover --node N --endpoint X              a standby node claims the endpoint now (asks the owner to release first)

${FLEET_HELP}

FILTER: --tunnel TID, --peer HOST[:PORT], --peer-host NAME (the peer's host name), --state established|recovering.

Listings (endpoints, state, timeline, tunnels, sessions) are paged by the services; l2tpctl
fetches every page and writes each as it comes. --limit N stops after N items (rows of a table).
Output: a table for people; --json one JSON document (a listing is one array, streamed with one
item per line; state is the table view, tunnels with their sessions); --ndjson one JSON object
per line (state: the table's head, then one line per tunnel or session row).

TIME is epoch milliseconds or ISO 8601 (2026-11-22T03:12:07Z).
Options: --timeout MS (NATS requests, default 10000), --help.
Commands that change state are audited under the NATS user l2tpctl connects as (NATS_USER).
Environment: NATS_URL, KAFKA_BROKERS, L2TP_TOPIC_PREFIX. The NATS identity is NATS_USER (dev default:
operator, from infra's store); an auditor identity may look but not change anything.
${CREDENTIALS_HELP}
Exit codes: 0 ok (also when the reader of stdout goes away, e.g. | head), 1 failure (not found,
unreachable, refused, a reply that does not decode), 2 bad usage.`

/** Every command, by name: the node's (ctl/node-commands.ts) and the registry's. */
const commands: Readonly<Record<string, Command>> = {
  ...nodeCommands,
  ...registryCommands,
  ...fleetCommands,
}

const OPTIONS = {
  endpoint: { type: 'string' },
  'as-of': { type: 'string' },
  offset: { type: 'string' },
  tunnel: { type: 'string' },
  session: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  file: { type: 'string' },
  node: { type: 'string' },
  reason: { type: 'string' },
  owner: { type: 'string' },
  state: { type: 'string' },
  peer: { type: 'string' },
  'peer-host': { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  ndjson: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean' },
} as const

const formatOf = (v: Values): Format => {
  if (v.json === true && v.ndjson === true) throw new Usage('give --json or --ndjson, not both')
  return v.json === true ? 'json' : v.ndjson === true ? 'ndjson' : 'human'
}

const run = async (cmd: string, args: string[], nats: ReturnType<typeof lazyNats>): Promise<number> => {
  const command = commands[cmd]
  if (command === undefined) throw new Usage(`unknown command '${cmd}'`)
  const { values } = parseArgs({ args, options: OPTIONS })
  const out = new Output(formatOf(values))
  if (values.help === true) {
    await out.write(`${HELP}\n`)
    return 0
  }
  const offset = str(values, 'offset')
  if (offset !== undefined) wholeNumber(offset, '--offset')
  const limit = str(values, 'limit')
  const timeout = str(values, 'timeout')
  const ctx: Ctx = {
    values,
    out,
    timeoutMs: timeout === undefined ? 10_000 : wholeNumber(timeout, '--timeout', 1),
    limit: limit === undefined ? null : wholeNumber(limit, '--limit', 1),
    nats: nats.get,
  }
  await command(ctx)
  return 0
}

// A reader of stderr that goes away must not turn into an uncaught exception either.
process.stderr.on('error', () => undefined)

const main = async (): Promise<number> => {
  const [cmd, ...rest] = process.argv.slice(2)
  if (cmd === undefined || cmd === '--help' || cmd === 'help') {
    await new Output('human').write(`${HELP}\n`).catch(() => undefined)
    return cmd === undefined ? 2 : 0
  }
  const nats = lazyNats()
  try {
    return await run(cmd, rest, nats)
  } catch (e) {
    if (e instanceof PipeClosed) return 0
    const usage = e instanceof Usage || (e instanceof TypeError && 'code' in e)
    process.stderr.write(
      `l2tpctl: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}${usage ? ' (see --help)' : ''}\n`,
    )
    return usage ? 2 : 1
  } finally {
    await nats.close()
  }
}

// Exit once stdout and stderr have drained: set the code and let the event loop end. A client
// library that leaves a handle open must not keep the CLI alive, hence the unref'd backstop.
void main().then(async (code) => {
  process.exitCode = code
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  setTimeout(() => process.exit(code), 2000).unref()
})
