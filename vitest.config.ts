import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One DynamoDB Local, one table and one OpenSearch node for the whole run; workers get their
    // addresses via inject().
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/handler-env.ts'],
    // Real DynamoDB Local behind every storage test: generous, never tuned to a machine's speed.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      // Handlers and the local server log every request; keep test output to warnings unless asked.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    },
  },
});
