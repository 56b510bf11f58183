import { sqsExportQueue } from '../core/export/sqs.js';
import { exportPatient, read, unknownOperation } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The read function: its interactions are listed in the route table (functions/routes.ts); it kicks off the `$export` its routes carry. */
export const handler = apiHandler(FUNCTIONS.read, { read, 'export-patient': exportPatient, 'unknown-operation': unknownOperation }, { exportQueue: sqsExportQueue });
