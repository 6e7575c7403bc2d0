// registry: the pure model (domain) and its shells.
export * from './domain/index.js'
