/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST app: the table, the per-operation Lambda functions and the API Gateway REST API.
 * Everything is derived from `core/storage/table-schema.ts` and `functions/routes.ts`.
 */
export default $config({
  app(input) {
    return {
      name: 'fhir-serverless',
      home: 'aws',
      // Patient data outlives a stack: production keeps the table when the app is removed.
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
    };
  },
  async run() {
    const { createTable } = await import('./infra/table');
    const { createApi } = await import('./infra/api');
    const table = createTable();
    const api = createApi(table);
    return { api: api.url, table: table.name };
  },
});
