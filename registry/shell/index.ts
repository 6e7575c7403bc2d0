// registry/shell: kafkajs and NATS adapters behind small ports.
export * from './errors.js'
export * from './event-folder.js'
export * from './event-log.js'
export * from './kafka-client.js'
export * from './nats-port.js'
export * from './partition-reader.js'
export * from './topics.js'
