/**
 * Starts one in-memory DynamoDB Local and one OpenSearch node for the test run and creates the
 * FHIR table; installs Debian's Chromium for the browser tests if it is missing (chromium.ts). The handler environment (endpoint, table, auth mode, dummy credentials) reaches the
 * test workers through `provide`, and `handler-env.ts` copies it into each worker's `process.env`.
 * OpenSearch is provided separately (`openSearchUrl`): only the tests that run the stream
 * processor use it, each with an index of its own, so every other test searches on DynamoDB.
 */
import type { TestProject } from 'vitest/node';
import { buildDefinitions } from '../../scripts/build-definitions.js';
import { localHandlerEnv, startDynamoDbLocal } from '../../scripts/local/dynamodb-local.js';
import { startLocalOpenSearch } from '../../scripts/local/opensearch.js';
import { ensureLocalTable } from '../../scripts/local/table.js';
import { ensureChromium } from './chromium.js';

const TEST_TABLE = 'fhir-test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Environment variables the handlers read (`core/config.ts`), pointing at the test table. */
    handlerEnv: Record<string, string>;
    /** A real OpenSearch node; tests create their own indexes in it. */
    openSearchUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Up to date after `npm test`'s prepare step; this makes a bare `npx vitest run` work too.
  buildDefinitions();
  // Before the servers start: on a fresh machine the install takes a minute or two.
  ensureChromium();
  const [database, openSearch] = await Promise.all([startDynamoDbLocal(), startLocalOpenSearch()]);
  const stop = async () => {
    await Promise.all([database.stop(), openSearch.stop()]);
  };
  try {
    await ensureLocalTable(database.endpoint, TEST_TABLE);
  } catch (error) {
    await stop();
    throw error;
  }
  project.provide('handlerEnv', localHandlerEnv(database.endpoint, TEST_TABLE));
  project.provide('openSearchUrl', openSearch.url);
  return stop;
}
