/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST app: the table, the per-operation Lambda functions behind an API Gateway REST API with a
 * Lambda authorizer and a Cognito user pool, the OpenSearch domain, and the stream processor that
 * indexes changes and publishes change events and AuditEvents to SNS. Everything is derived from
 * `core/storage/table-schema.ts`, `functions/routes.ts`, `infra/policies.ts` (who may do what)
 * and `infra/stage.ts` (what differs in production).
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
    const { stageSettings } = await import('./infra/stage');
    const { createDataKey } = await import('./infra/keys');
    const { createTable } = await import('./infra/table');
    const { createSearch } = await import('./infra/search');
    const { createEventTopics } = await import('./infra/events');
    const { createDeadLetters, createStreamProcessor } = await import('./infra/stream');
    const { deployedArns } = await import('./infra/permissions');
    const { createUserPool } = await import('./infra/auth');
    const { createApi } = await import('./infra/api');
    const { createAnalytics, createAnalyticsResources } = await import('./infra/analytics');
    const settings = stageSettings($app.stage, process.env);
    const key = createDataKey(settings.customerManagedKey);
    const table = createTable(settings, key);
    const search = createSearch();
    const topics = createEventTopics(key);
    const deadLetters = createDeadLetters(key);
    const analytics = createAnalyticsResources(key, settings);
    const { createExportResources, createExportWorker } = await import('./infra/export');
    const bulkExport = createExportResources(key);
    const arns = deployedArns(table, search, topics, deadLetters, analytics, bulkExport);
    createStreamProcessor(table, search, topics, deadLetters, arns, settings);
    createAnalytics(analytics, table, search, deadLetters, arns, settings);
    const auth = createUserPool(settings);
    createExportWorker(bulkExport, table, arns, settings);
    const { baseUrl } = createApi(table, search, auth, arns, settings, { ...analytics.apiEnvironment, ...bulkExport.apiEnvironment });
    return {
      api: baseUrl,
      table: table.name,
      search: search.url,
      changeTopic: topics.changes.arn,
      auditTopic: topics.audit.arn,
      streamDeadLetters: deadLetters.url,
      analyticsReports: analytics.bucket.name,
      analyticsTopic: analytics.topic.arn,
      userPool: auth.pool.id,
      userLoginClient: auth.userLogin.id,
      backendServiceClient: auth.backendService.id,
      oauth: auth.oauthEnvironment.FHIR_OAUTH_TOKEN_ENDPOINT,
    };
  },
});
