import { REPORTS_PREFIX } from '../core/analytics/reports';
import { ANALYTICS } from '../functions/routes';
import type { DataKey } from './keys';
import { type DeployedArns, permissionsOf } from './permissions';
import { searchEnvironment } from './search';
import { passThrough, type StageSettings } from './stage';

/**
 * Where analytics reports go and who hears of them (docs/analytics.md), created before the IAM
 * statements that name them (infra/policies.ts):
 * - the reports bucket: encrypted with the stage's key (else S3's AWS-managed key), private and
 *   HTTPS-only as SST makes every bucket, reports and run statuses expiring after the stage's
 *   `FHIR_ANALYTICS_REPORT_DAYS`;
 * - the "report ready" topic, encrypted as the other topics; subscribers filter on `tenantId`;
 * - the analytics function's name, fixed, so that its ARN is known to the API functions that
 *   invoke it and to the function itself (it invokes itself once per tenant) before it exists.
 */
export function createAnalyticsResources(key: DataKey, settings: StageSettings) {
  const days = settings.analytics.reportDays;
  const bucket = new sst.aws.Bucket('FhirAnalyticsReports', {
    lifecycle: days === undefined ? [] : [{ id: 'expire-reports', prefix: REPORTS_PREFIX, expiresIn: `${days} days` }],
  });
  new aws.s3.BucketServerSideEncryptionConfiguration('FhirAnalyticsReportsEncryption', {
    bucket: bucket.name,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', ...(key ? { kmsMasterKeyId: key.arn } : {}) }, bucketKeyEnabled: true }],
  });
  const topic = new sst.aws.SnsTopic('FhirAnalyticsTopic', { transform: { topic: { kmsMasterKeyId: key ? key.arn : 'alias/aws/sns' } } });
  const functionName = `${$app.name}-${$app.stage}-analytics`;
  const account = aws.getCallerIdentityOutput({}).accountId;
  const partition = aws.getPartitionOutput({}).partition;
  const region = aws.getRegionOutput({}).region;
  return {
    bucket,
    topic,
    functionName,
    functionArn: $interpolate`arn:${partition}:lambda:${region}:${account}:function:${functionName}`,
    /** What the functions that start runs and read reports need (core/analytics/config.ts). */
    apiEnvironment: { FHIR_ANALYTICS_BUCKET: bucket.name, FHIR_ANALYTICS_FUNCTION: functionName },
  };
}

export type AnalyticsResources = ReturnType<typeof createAnalyticsResources>;

/**
 * The analytics function (3008 MB / 900 s, functions/routes.ts) and its schedule: an SST `CronV2`
 * (EventBridge Scheduler) invokes it with an empty event, and it starts one asynchronous run per
 * tenant of the tenant registry, each with its own 15 minutes.
 */
export function createAnalytics(
  resources: AnalyticsResources,
  table: sst.aws.Dynamo,
  search: sst.aws.OpenSearch,
  deadLetters: sst.aws.Queue,
  arns: DeployedArns,
  settings: StageSettings,
) {
  const analytics = new sst.aws.Function('FhirAnalytics', {
    name: resources.functionName,
    handler: `functions/${ANALYTICS.module}.handler`,
    runtime: 'nodejs22.x',
    memory: `${ANALYTICS.memoryMB} MB`,
    timeout: `${ANALYTICS.timeoutSeconds} seconds`,
    environment: {
      FHIR_TABLE_NAME: table.name,
      ...searchEnvironment(search),
      ...resources.apiEnvironment,
      FHIR_ANALYTICS_TOPIC_ARN: resources.topic.arn,
      FHIR_STREAM_DLQ_URL: deadLetters.url,
      ...passThrough(process.env, ['FHIR_ANALYTICS_TENANTS', 'FHIR_ANALYTICS_ACTIVITY_DAYS']),
    },
    permissions: permissionsOf(ANALYTICS.module, arns),
    logging: { retention: settings.logRetention },
    // The data-quality pass validates every resource against the definitions.
    copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }],
    // A failed run has stored its status `failed`; Lambda's retries would redo up to 15 minutes of work.
    retries: 0,
  });
  if (settings.analytics.schedule) {
    new sst.aws.CronV2('FhirAnalyticsSchedule', { function: analytics, schedule: settings.analytics.schedule });
  }
  return analytics;
}
