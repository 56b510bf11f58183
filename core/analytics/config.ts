/**
 * The analytics run's settings, from the environment (resolved where the analytics parts are
 * built; the rest of the API never reads them):
 * - `FHIR_ANALYTICS_BUCKET`: the S3 bucket of the reports (unset: `$analytics` answers 501);
 * - `FHIR_ANALYTICS_TOPIC_ARN`: the SNS topic of "report ready" events (unset: none published);
 * - `FHIR_ANALYTICS_FUNCTION`: the analytics Lambda a `POST /$analytics` invokes asynchronously
 *   (unset, as under `npm start`: the run happens in the API's own process, in the background);
 * - `FHIR_STREAM_DLQ_URL`: the stream's dead-letter queue, counted in the index health;
 * - `FHIR_ANALYTICS_TENANTS`: comma-separated tenants the schedule runs besides those of the tenant registry (tenants whose last write predates it);
 * - `FHIR_ANALYTICS_ACTIVITY_DAYS`: days of API activity in a report (default 30);
 * - `S3_ENDPOINT`, `SNS_ENDPOINT`, `SQS_ENDPOINT`: local emulators only.
 */
import { ConfigError } from '../config.js';

export interface AnalyticsConfig {
  readonly bucket: string;
  readonly topicArn: string | undefined;
  readonly functionName: string | undefined;
  readonly deadLetterQueueUrl: string | undefined;
  readonly activityDays: number;
  readonly tenants: readonly string[];
  readonly s3Endpoint: string | undefined;
  readonly snsEndpoint: string | undefined;
  readonly sqsEndpoint: string | undefined;
}

export function loadAnalyticsConfig(env: NodeJS.ProcessEnv = process.env): AnalyticsConfig | undefined {
  const bucket = env.FHIR_ANALYTICS_BUCKET;
  if (!bucket) {
    return undefined;
  }
  const days = env.FHIR_ANALYTICS_ACTIVITY_DAYS ?? '30';
  if (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 3_660) {
    throw new ConfigError(`FHIR_ANALYTICS_ACTIVITY_DAYS must be a whole number of days from 1 to 3660, got "${days}"`);
  }
  return {
    bucket,
    topicArn: env.FHIR_ANALYTICS_TOPIC_ARN || undefined,
    functionName: env.FHIR_ANALYTICS_FUNCTION || undefined,
    deadLetterQueueUrl: env.FHIR_STREAM_DLQ_URL || undefined,
    activityDays: Number(days),
    tenants: (env.FHIR_ANALYTICS_TENANTS ?? '').split(',').map((tenant) => tenant.trim()).filter(Boolean),
    s3Endpoint: env.S3_ENDPOINT || undefined,
    snsEndpoint: env.SNS_ENDPOINT || undefined,
    sqsEndpoint: env.SQS_ENDPOINT || undefined,
  };
}
