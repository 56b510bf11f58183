import { conditionalUpdate, update } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The update function: its interactions are listed in the route table (functions/routes.ts). */
export const handler = apiHandler(FUNCTIONS.update, { update, 'conditional-update': conditionalUpdate });
