// contracts: everything that crosses a process (events, commands, replies, ids, names). No I/O.

export * from './checkpoint.js'
export * from './commands.js'
export * from './dead-letter.js'
export * from './errors.js'
export * from './event-decode.js'
export * from './events.js'
export * from './ids.js'
export * from './liveness.js'
export * from './parts.js'
export * from './snapshot.js'
export * from './subjects.js'
export * from './topics.js'
