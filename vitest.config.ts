import { defineConfig } from 'vitest/config'

// Unit tests never touch a socket; *.int.spec.ts and *.e2e.spec.ts run against the real Kafka
// and NATS that test/global-setup.ts brings up once for the whole run (and stops if it started them).
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    globalSetup: process.env.L2TP_UNIT_ONLY === '1' ? [] : ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Stopping Kafka cleanly in the global teardown takes longer than vitest's 10 s default.
    teardownTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
})
