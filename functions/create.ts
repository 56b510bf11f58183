import { sqsExportQueue } from '../core/export/sqs.js';
import { analyticsParts } from './lib/analytics.js';
import { analyticsRun, create, exportSystem, unknownOperation, validate } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The create function: its interactions are listed in the route table (functions/routes.ts); it kicks off the `$export` and `$analytics` runs its routes carry. */
export const handler = apiHandler(FUNCTIONS.create, { create, validate, 'export-system': exportSystem, 'analytics-run': analyticsRun, 'unknown-operation': unknownOperation }, { exportQueue: sqsExportQueue, analytics: analyticsParts });
