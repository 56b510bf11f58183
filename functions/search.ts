import { sqsExportQueue } from '../core/export/sqs.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { analyticsParts } from './lib/analytics.js';
import { analyticsReport, exportGroup, exportSystem, searchCompartment, searchSystem, searchType, unknownOperation } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The search function: its interactions are listed in the route table (functions/routes.ts); it searches OpenSearch when configured kicks off the `$export` its routes carry and serves `$analytics` reports. */
export const handler = apiHandler(
  FUNCTIONS.search,
  {
    'search-type': searchType,
    'search-system': searchSystem,
    'search-compartment': searchCompartment,
    'export-system': exportSystem,
    'export-group': exportGroup,
    'analytics-report': analyticsReport,
    'unknown-operation': unknownOperation,
  },
  { openSearchClient, exportQueue: sqsExportQueue, analytics: analyticsParts },
);
