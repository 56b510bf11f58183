import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The unit tier: test files that need no Java, no database, no search node and no network (a
 * loopback server inside the test process is fine). They run without the integration set-up:
 * `npm run test:unit`, or `npx vitest run --project unit`. Add a file here only when nothing it
 * imports talks to DynamoDB, OpenSearch or SNS/SQS, and it downloads nothing; a file that mixes
 * both kinds is split in two beside each other. Every other test file is integration.
 */
const UNIT = [
  'test/architecture.test.ts',
  'test/core/auth/*.test.ts',
  'test/core/fhir/batch-entry.test.ts',
  'test/core/fhir/conditional.test.ts',
  'test/core/fhir/input-gate.test.ts',
  'test/core/fhir/routes.test.ts',
  'test/core/fhir/validation.test.ts',
  'test/core/r4/*.test.ts',
  'test/core/search/opensearch/criteria.test.ts',
  'test/core/search/opensearch/dsl.test.ts',
  'test/core/search/parse.test.ts',
  'test/functions/authorizer*.test.ts',
  'test/functions/tenant.test.ts',
  'test/infra/*.test.ts',
  'test/scripts/http-server.test.ts',
  'test/scripts/ingest.test.ts',
  'test/scripts/local-stack.test.ts',
  'test/scripts/package-cache.test.ts',
];

export default defineConfig({
  test: {
    // Real DynamoDB Local behind every storage test: generous, never tuned to a machine's speed.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      // Handlers and the local server log every request; keep test output to warnings unless asked.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          globalSetup: ['test/support/definitions-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT],
          // One DynamoDB Local, one table and one OpenSearch node for the whole run; workers get
          // their addresses via inject().
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/handler-env.ts'],
        },
      },
    ],
  },
});
