import { conditionalPatch, patch } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The patch function: its interactions are listed in the route table (functions/routes.ts). */
export const handler = apiHandler(FUNCTIONS.patch, { patch, 'conditional-patch': conditionalPatch });
