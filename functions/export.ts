import { s3ExportFiles } from '../core/export/s3.js';
import { exportCancel, exportStatus } from '../core/router/interactions.js';
import { apiHandler } from './lib/api-handler.js';
import { FUNCTIONS } from './routes.js';

/** The export status function: Bulk Data status polls (the manifest's presigned URLs) and cancels (file removal). */
export const handler = apiHandler(FUNCTIONS.export, { 'export-status': exportStatus, 'export-cancel': exportCancel }, { exportFiles: s3ExportFiles });
