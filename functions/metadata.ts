import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The metadata function: its interactions are listed in the route table (functions/routes.ts). */
export const handler = apiHandler(FUNCTIONS.metadata, {});
