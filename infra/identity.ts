// infra/identity: dev/test NATS identities (infra/identities.ts). Grants a node the endpoints of
// its config, adds operators and auditors, shows credentials. A change regenerates the server
// config and reloads our nats-server, then waits until the identity can log in.
import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { parseConfig } from '../nodes/cli/config.js'
import { loadInfraConfig } from './config.js'
import { grant, identityPaths, nodeGrant, readStore, storedIdentity } from './identities.js'
import type { Identity } from './nats-auth.js'

const HELP = `infra/identity: NATS identities of the dev/test nats-server

Usage:
  infra/identity node --config FILE   grant node <nodeId> of a node config exactly its endpoints
  infra/identity operator NAME [--nkey]  add an operator (commands are audited under NAME)
  infra/identity auditor NAME [--nkey]   add a read-only auditor
                                      --nkey: log in with an nkey (seed file) instead of a password
  infra/identity show NAME            print NATS_USER=... and NATS_PASS=... of an identity
  infra/identity list                 every identity: name, kind, endpoints

--cluster (or L2TP_CLUSTER=1): the identities of the 3-server cluster (infra/up --cluster).
Credentials live in <data>/nats/identities.json (L2TP_INFRA_DATA; dev/test only).
Exit codes: 0 ok, 1 failure, 2 bad usage.`

class Usage extends Error {}

const credentials = (id: Identity): string =>
  id.nkey === undefined
    ? `NATS_USER=${id.name}\nNATS_PASS=${id.password}\n`
    : `NATS_USER=${id.name}\nNATS_NKEY=${id.nkey.seedFile}\n`

const main = async (args: readonly string[]): Promise<number> => {
  const c = loadInfraConfig()
  const [cmd, a, b] = args
  switch (cmd) {
    case 'node': {
      if (a !== '--config' || b === undefined) throw new Usage('node needs --config FILE')
      const parsed = parseConfig(readFileSync(b, 'utf8'))
      if (E.isLeft(parsed)) throw new Error(`${b}: ${parsed.left}`)
      const cfg = parsed.right
      const id = await grant(
        c,
        nodeGrant(
          cfg.nodeId,
          cfg.endpoints.map((e) => e.id),
        ),
      )
      process.stdout.write(`${id.name}: endpoints ${(id.endpoints ?? []).join(', ')}\n${credentials(id)}`)
      return 0
    }
    case 'operator':
    case 'auditor': {
      if (a === undefined) throw new Usage(`${cmd} needs a NAME`)
      if (b !== undefined && b !== '--nkey') throw new Usage(`unknown option '${b}'`)
      const id = await grant(c, { kind: cmd, name: a, nkey: b === '--nkey' })
      process.stdout.write(`${id.name}: ${id.kind}\n${credentials(id)}`)
      return 0
    }
    case 'show': {
      if (a === undefined) throw new Usage('show needs a NAME')
      const id = storedIdentity(c, a)
      if (id === null) throw new Error(`no identity '${a}' in ${identityPaths(c).store}`)
      process.stdout.write(credentials(id))
      return 0
    }
    case 'list':
      for (const id of Object.values(readStore(c)))
        process.stdout.write(`${id.name.padEnd(24)}${id.kind.padEnd(10)}${(id.endpoints ?? []).join(',')}\n`)
      return 0
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(`${HELP}\n`)
      return cmd === undefined ? 2 : 0
    default:
      throw new Usage(`unknown command '${cmd}'`)
  }
}

const argv = process.argv.slice(2)
if (argv.includes('--cluster')) process.env.L2TP_CLUSTER = '1'
main(argv.filter((x) => x !== '--cluster')).then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: unknown) => {
    const usage = e instanceof Usage
    process.stderr.write(
      `infra/identity: ${e instanceof Error ? e.message : String(e)}${usage ? ' (see --help)' : ''}\n`,
    )
    process.exit(usage ? 2 : 1)
  },
)
