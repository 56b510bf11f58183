/**
 * The search conformance suite against the DynamoDB engine under AWS semantics: its GSIs lag
 * (simulated, 10 minutes: nothing the API writes during the run reaches them) behind the table.
 * Every other fixture is written settled (in every GSI), the rest through the API, so each case
 * is answered from the GSIs and the recent-changes overlay together.
 */
import { afterAll, vi } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { settledWriter } from '../support/settled-writes.js';
import { runSearchConformance } from './conformance.js';

// Read by core/config.ts at the handlers' first request; no later test file in this worker sees it.
vi.stubEnv('FHIR_SIMULATE_GSI_LAG_MS', '600000');
afterAll(() => {
  vi.unstubAllEnvs();
});

runSearchConformance('DynamoDB engine, GSIs lagging', useLocalApi(), { settled: settledWriter() });
