// The one place that builds kafkajs clients: brokers, client id, logging, retry. Shell.
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs'

/** TLS (CA, client cert and key as PEM text) and SASL (plain, scram) toward Kafka. */
export interface KafkaSecurity {
  readonly ssl?: { readonly ca?: readonly string[]; readonly cert?: string; readonly key?: string }
  readonly sasl?: SASLOptions
}

export interface KafkaDeps extends KafkaSecurity {
  readonly brokers: readonly string[]
  readonly clientId?: string
  /** kafkajs log level; quiet by default, the callers log what matters. */
  readonly logLevel?: logLevel
}

const tlsOf = (t: NonNullable<KafkaSecurity['ssl']>) => ({
  ...(t.ca === undefined ? {} : { ca: [...t.ca] }),
  ...(t.cert === undefined ? {} : { cert: t.cert }),
  ...(t.key === undefined ? {} : { key: t.key }),
})

export const makeKafka = (d: KafkaDeps): Kafka => {
  const config: KafkaConfig = {
    clientId: d.clientId ?? 'l2tp',
    brokers: [...d.brokers],
    logLevel: d.logLevel ?? logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    ...(d.ssl === undefined ? {} : { ssl: tlsOf(d.ssl) }),
    ...(d.sasl === undefined ? {} : { sasl: d.sasl }),
  }
  return new Kafka(config)
}
