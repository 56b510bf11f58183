/**
 * The search conformance suite against the OpenSearch engine under AWS semantics: the GSIs lag
 * (simulated, 10 minutes) and the index has only what was indexed before the run's API writes
 * (no stream processor runs). Every other fixture is written settled (indexed, in every GSI), the
 * rest through the API, so each case merges index hits with the recent-changes overlay.
 *
 * As in conformance-opensearch.test.ts, the router is replaced so that every search reaches the
 * index (in service `_id`, compartment searches and plain listings stay on the table).
 */
import { afterAll, vi } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { useOpenSearchIndex } from '../support/opensearch.js';
import { settledWriter } from '../support/settled-writes.js';
import { runSearchConformance } from './conformance.js';

vi.mock('../../core/search/router.js', () => ({
  RoutedSearchEngine: class {
    constructor(_table: object, index: object) {
      return index;
    }
  },
}));

const search = useOpenSearchIndex();
// Read by core/config.ts at the handlers' first request; no later test file in this worker sees them.
vi.stubEnv('OPENSEARCH_URL', search.url);
vi.stubEnv('OPENSEARCH_INDEX', search.index);
vi.stubEnv('FHIR_SIMULATE_GSI_LAG_MS', '600000');
afterAll(() => {
  vi.unstubAllEnvs();
});

runSearchConformance('OpenSearch engine, index and GSIs lagging', useLocalApi(), { settled: settledWriter(search) });
