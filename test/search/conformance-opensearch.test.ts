/**
 * The search conformance suite against the OpenSearch engine, end to end: the local API (real
 * handlers, real Bundles and paging links) over DynamoDB Local, configured with OPENSEARCH_URL
 * and OPENSEARCH_INDEX so that `functions/lib/api-handler.ts` builds its `OpenSearchEngine` on a
 * fresh index of the run's OpenSearch node. The fixtures are written through the API and then
 * indexed from the table (`indexTenant`), as a reindex would.
 *
 * In service the router (core/search/router.ts) keeps `_id`, compartment searches and plain
 * listings on the table; here it sends every search to the index, so that the suite covers the
 * engine on those too. That is the one stand-in: storage, handlers, index and queries are real.
 */
import { afterAll, vi } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { indexTenant, useOpenSearchIndex } from '../support/opensearch.js';
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
afterAll(() => {
  vi.unstubAllEnvs();
});

runSearchConformance('OpenSearch engine', useLocalApi(), {
  afterLoad: async (tenant) => {
    await indexTenant(search, tenant);
  },
});
