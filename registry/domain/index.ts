// registry/domain: the pure connection-table model (evolve, replay, canonical form, snapshots).
export * from './canonical.js'
export * from './diff.js'
export * from './evolve.js'
export * from './paging.js'
export * from './table.js'
