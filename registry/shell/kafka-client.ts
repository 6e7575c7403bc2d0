// The one place that builds kafkajs clients: brokers, client id, logging, retry. Shell.
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs'

export interface KafkaDeps {
  readonly brokers: readonly string[]
  readonly clientId?: string
  /** kafkajs log level; quiet by default, the callers log what matters. */
  readonly logLevel?: logLevel
}

export const makeKafka = (d: KafkaDeps): Kafka => {
  const config: KafkaConfig = {
    clientId: d.clientId ?? 'l2tp',
    brokers: [...d.brokers],
    logLevel: d.logLevel ?? logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
  }
  return new Kafka(config)
}
