import { historyInstance, historyType } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The history function: its interactions are listed in the route table (functions/routes.ts). */
export const handler = apiHandler(FUNCTIONS.history, { 'history-type': historyType, 'history-instance': historyInstance });
