import { sqsExportQueue } from '../core/export/sqs.js';
import { exportGroup, exportPatient, unknownOperation, validate } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The validate function: its interactions are listed in the route table (functions/routes.ts); it kicks off the `$export` its routes carry. */
export const handler = apiHandler(
  FUNCTIONS.validate,
  { validate, 'export-patient': exportPatient, 'export-group': exportGroup, 'unknown-operation': unknownOperation },
  { exportQueue: sqsExportQueue },
);
