/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST app: the table, the per-operation Lambda functions behind an API Gateway REST API, the
 * OpenSearch domain, and the stream processor that indexes changes and publishes change events
 * and AuditEvents to SNS. Everything is derived from `core/storage/table-schema.ts` and
 * `functions/routes.ts`.
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
    const { createSearch } = await import('./infra/search');
    const { createEventTopics } = await import('./infra/events');
    const { createStreamProcessor } = await import('./infra/stream');
    const { createApi } = await import('./infra/api');
    const table = createTable();
    const search = createSearch();
    const topics = createEventTopics();
    const { deadLetters } = createStreamProcessor(table, search, topics);
    const api = createApi(table, search);
    return {
      api: api.url,
      table: table.name,
      search: search.url,
      changeTopic: topics.changes.arn,
      auditTopic: topics.audit.arn,
      streamDeadLetters: deadLetters.url,
    };
  },
});
