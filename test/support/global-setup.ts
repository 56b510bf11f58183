/**
 * Starts one in-memory DynamoDB Local for the test run and creates the FHIR table in it. The
 * handler environment (endpoint, table, auth mode, dummy credentials) reaches the test workers
 * through `provide`, and `handler-env.ts` copies it into each worker's `process.env`.
 */
import type { TestProject } from 'vitest/node';
import { buildDefinitions } from '../../scripts/build-definitions.js';
import { localHandlerEnv, startDynamoDbLocal } from '../../scripts/local/dynamodb-local.js';
import { ensureLocalTable } from '../../scripts/local/table.js';

const TEST_TABLE = 'fhir-test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Environment variables the handlers read (`core/config.ts`), pointing at the test table. */
    handlerEnv: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Up to date after `npm test`'s prepare step; this makes a bare `npx vitest run` work too.
  buildDefinitions();
  const database = await startDynamoDbLocal();
  try {
    await ensureLocalTable(database.endpoint, TEST_TABLE);
  } catch (error) {
    await database.stop();
    throw error;
  }
  project.provide('handlerEnv', localHandlerEnv(database.endpoint, TEST_TABLE));
  return () => database.stop();
}
