// Where the programs find Kafka, NATS and the topic names, and with which credentials:
// environment first (user/password, nkey seed file, creds file, TLS; Kafka SSL and SASL), then
// in dev the identity store infra keeps under its data dir. A program never falls back to
// another identity's credentials; dev credentials toward a non-loopback NATS print a warning.
import { readFileSync } from 'node:fs'
import type { SASLOptions } from 'kafkajs'
import { topicNames } from '../../contracts/index.js'
import { kafkaBrokers, loadInfraConfig, type NatsRole, natsUrl } from '../../infra/config.js'
import { identityPaths, storedIdentity } from '../../infra/identities.js'
import { nodeUser } from '../../infra/nats-auth.js'
import type { KafkaSecurity, NatsDeps } from '../shell/index.js'

export const brokersFromEnv = (): string[] => kafkaBrokers()

/** The text every program's --help gives for its credentials. */
export const CREDENTIALS_HELP = `NATS: NATS_URL; NATS_USER names the identity (user name, issuer of commands) with NATS_PASS,
  or NATS_NKEY=FILE (nkey seed) or NATS_CREDS=FILE (JWT creds); TLS: NATS_CA, NATS_CERT, NATS_KEY
  (files). Without credentials a program uses its dev identity from infra's store (infra/.data);
  toward a non-loopback NATS that prints a warning. L2TP_SUBJECT_PREFIX (one token and a dot,
  e.g. lab1.) keeps two labs on one NATS apart.
Kafka: KAFKA_BROKERS; KAFKA_SSL=1 (with KAFKA_CA, KAFKA_CERT, KAFKA_KEY files), KAFKA_SASL_MECHANISM
  plain|scram-sha-256|scram-sha-512 with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD.`

const env = (k: string): string | undefined => {
  const v = process.env[k]
  return v === undefined || v === '' ? undefined : v
}

const LOOPBACK = /^(nats:\/\/|tls:\/\/)?(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/
const loopbackOnly = (servers: string): boolean => servers.split(',').every((s) => LOOPBACK.test(s.trim()))

let warned = false
const warnOnce = (msg: string) => {
  if (warned) return
  warned = true
  process.stderr.write(`warning: ${msg}\n`)
}

/** L2TP_SUBJECT_PREFIX: '' or one token and a dot; null when malformed. */
export const subjectPrefixFromEnv = (): string | null => {
  const p = env('L2TP_SUBJECT_PREFIX') ?? ''
  return p === '' || /^[A-Za-z0-9_-]+\.$/.test(p) ? p : null
}

const tlsFromEnv = (): NatsDeps['tls'] => {
  const [caFile, certFile, keyFile] = [env('NATS_CA'), env('NATS_CERT'), env('NATS_KEY')]
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined
  return {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
  }
}

type Credentials = Pick<NatsDeps, 'user' | 'pass' | 'nkeySeedFile' | 'credsFile' | 'missing'>

const fromEnvironment = (): Credentials | null => {
  const [user, pass, nkey, creds] = [env('NATS_USER'), env('NATS_PASS'), env('NATS_NKEY'), env('NATS_CREDS')]
  if (user === undefined && pass === undefined && nkey === undefined && creds === undefined) return null
  if (user === undefined)
    return {
      user: '-',
      missing: 'NATS_USER must name the identity (with NATS_PASS, NATS_NKEY or NATS_CREDS)',
    }
  if (creds !== undefined) return { user, credsFile: creds }
  if (nkey !== undefined) return { user, nkeySeedFile: nkey }
  if (pass === undefined)
    return { user, missing: `NATS_USER=${user} is set but NATS_PASS (or NATS_NKEY, NATS_CREDS) is not` }
  return { user, pass }
}

/** The dev identity of a role in infra's store (node: the node's own). */
const fromDevStore = (name: string, servers: string): Credentials => {
  const c = loadInfraConfig()
  const id = storedIdentity(c, name)
  if (id === null)
    return {
      user: name,
      missing: `no NATS credentials for '${name}': set NATS_USER with NATS_PASS, NATS_NKEY or NATS_CREDS (dev: infra/up, and for a node infra/identity node --config FILE)`,
    }
  if (!loopbackOnly(servers))
    warnOnce(
      `using the dev credentials of '${name}' (${identityPaths(c).store}) toward ${servers}; set NATS_USER and NATS_PASS, NATS_NKEY or NATS_CREDS`,
    )
  return id.nkey === undefined
    ? { user: id.name, pass: id.password }
    : { user: id.name, nkeySeedFile: id.nkey.seedFile }
}

/**
 * NATS connection settings for a program of this role (node: give its node id). Spread into
 * connectNats with a name: `connectNats({ ...natsFromEnv('registry'), name })`. Missing or
 * partial credentials make connectNats fail with the reason.
 */
export const natsFromEnv = (role: NatsRole, nodeId?: string): Omit<NatsDeps, 'name'> => {
  const servers = natsUrl()
  const prefix = subjectPrefixFromEnv()
  const devName = role === 'node' ? nodeUser(nodeId ?? 'unknown') : role
  const creds = fromEnvironment() ?? fromDevStore(devName, servers)
  const tls = tlsFromEnv()
  return {
    servers,
    ...creds,
    ...(tls === undefined ? {} : { tls }),
    ...(prefix === null
      ? {
          missing: `L2TP_SUBJECT_PREFIX must be one token and a dot (lab1.), got '${env('L2TP_SUBJECT_PREFIX')}'`,
        }
      : { subjectPrefix: prefix }),
  }
}

const file = (k: string): string | undefined => {
  const f = env(k)
  return f === undefined ? undefined : readFileSync(f, 'utf8')
}

/** Kafka TLS and SASL from the environment, for makeKafka / ensureTopics. Throws when malformed. */
export const kafkaSecurityFromEnv = (): KafkaSecurity => {
  const mechanism = env('KAFKA_SASL_MECHANISM')?.toLowerCase()
  const ssl = env('KAFKA_SSL') === '1' || env('KAFKA_CA') !== undefined
  const sasl = ((): SASLOptions | undefined => {
    if (mechanism === undefined) return undefined
    const username = env('KAFKA_SASL_USERNAME')
    const password = env('KAFKA_SASL_PASSWORD')
    if (username === undefined || password === undefined)
      throw new Error('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD')
    if (mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512')
      return { mechanism, username, password }
    throw new Error(`KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512, got '${mechanism}'`)
  })()
  const [ca, cert, key] = [file('KAFKA_CA'), file('KAFKA_CERT'), file('KAFKA_KEY')]
  return {
    ...(ssl
      ? {
          ssl: {
            ...(ca === undefined ? {} : { ca: [ca] }),
            ...(cert === undefined ? {} : { cert }),
            ...(key === undefined ? {} : { key }),
          },
        }
      : {}),
    ...(sasl === undefined ? {} : { sasl }),
  }
}

/** L2TP_TOPIC_PREFIX lets a test or a lab run its own set of topics. */
export const topicsFromEnv = () => topicNames(process.env.L2TP_TOPIC_PREFIX ?? '')

/** A time on the command line: epoch milliseconds or an ISO 8601 date. */
export const parseTime = (s: string): number | null => {
  if (/^\d+$/.test(s)) return Number(s)
  const t = Date.parse(s)
  return Number.isNaN(t) ? null : t
}
