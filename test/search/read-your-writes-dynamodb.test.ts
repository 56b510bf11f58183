/** Read-your-writes on the DynamoDB engine (no OpenSearch), its GSIs lagging as on AWS. */
import { afterAll, vi } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { LAG_MS, runReadYourWrites } from './read-your-writes.js';
import { useLaggingStreamProcessor } from './read-your-writes-support.js';

// Read by core/config.ts at the handlers' first request; no later test file in this worker sees it.
vi.stubEnv('FHIR_SIMULATE_GSI_LAG_MS', String(LAG_MS));
afterAll(() => {
  vi.unstubAllEnvs();
});

const poller = useLaggingStreamProcessor();
runReadYourWrites('DynamoDB engine', useLocalApi(), poller);
