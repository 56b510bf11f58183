import { openSearchClient } from '../core/search/opensearch/client.js';
import { ALL_INTERACTIONS } from '../core/router/all-interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The bundle function: its interactions are listed in the route table (functions/routes.ts); it searches OpenSearch when configured. */
export const handler = apiHandler(FUNCTIONS.bundle, ALL_INTERACTIONS, { openSearchClient });
