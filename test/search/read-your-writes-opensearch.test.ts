/**
 * Read-your-writes with OpenSearch configured, as `npm start` and a deployed stage run: the router
 * sends each search where it goes in service; the index lags the table by the stream poller's
 * delay and the GSIs by the simulated lag.
 */
import { afterAll, vi } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { useOpenSearchIndex } from '../support/opensearch.js';
import { LAG_MS, runReadYourWrites } from './read-your-writes.js';
import { useLaggingStreamProcessor } from './read-your-writes-support.js';

const search = useOpenSearchIndex();
// Read by core/config.ts at the handlers' first request; no later test file in this worker sees them.
vi.stubEnv('OPENSEARCH_URL', search.url);
vi.stubEnv('OPENSEARCH_INDEX', search.index);
vi.stubEnv('FHIR_SIMULATE_GSI_LAG_MS', String(LAG_MS));
afterAll(() => {
  vi.unstubAllEnvs();
});

const poller = useLaggingStreamProcessor();
runReadYourWrites('OpenSearch engine', useLocalApi(), poller);
