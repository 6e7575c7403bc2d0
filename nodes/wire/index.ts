// nodes/wire: L2TPv2 bytes <-> typed messages. Pure.
export * from './avp-table.js'
export * from './avp-values.js'
export * from './constants.js'
export * from './errors.js'
export * from './header.js'
export * from './hidden.js'
export * from './message.js'
export * from './message-spec.js'
