import { conditionalDelete, deleteInteraction } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The delete function: its interactions are listed in the route table (functions/routes.ts). */
export const handler = apiHandler(FUNCTIONS.delete, { 'delete': deleteInteraction, 'conditional-delete': conditionalDelete });
