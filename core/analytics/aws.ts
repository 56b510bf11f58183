/**
 * The analytics parts that speak to AWS, passed in as drivers (core/wiring.ts) so that only the
 * functions serving `$analytics` carry these clients: the reports bucket (S3), the "report ready"
 * topic (SNS), the stream's dead-letter count (SQS) and the asynchronous start of a run (Lambda).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AnalyticsConfig } from './config.js';
import type { ObjectStore, ReportAnnouncer } from './reports.js';
import type { TenantId } from '../tenant.js';

export function s3Objects(config: AnalyticsConfig, region: string): ObjectStore {
  const client = new S3Client({ region, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) });
  return {
    async put(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentType: contentType }));
    },
    async get(key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
        return await object.Body?.transformToString('utf8');
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
          return undefined;
        }
        throw error;
      }
    },
  };
}

/** "Report ready" on the analytics topic; subscribers filter on `tenantId` and `eventType`. */
export function snsAnnouncer(config: AnalyticsConfig, region: string): ReportAnnouncer | undefined {
  const topicArn = config.topicArn;
  if (!topicArn) {
    return undefined;
  }
  const client = new SNSClient({ region, ...(config.snsEndpoint ? { endpoint: config.snsEndpoint } : {}) });
  return async (ready) => {
    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify({ eventType: 'analytics-report-ready', bucket: config.bucket, ...ready }),
        MessageAttributes: {
          tenantId: { DataType: 'String', StringValue: ready.tenant },
          eventType: { DataType: 'String', StringValue: 'analytics-report-ready' },
        },
      }),
    );
  };
}

/** Messages waiting in the stream's dead-letter queue (SQS's approximate count). */
export function deadLetterCounter(config: AnalyticsConfig, region: string): (() => Promise<number>) | undefined {
  const queueUrl = config.deadLetterQueueUrl;
  if (!queueUrl) {
    return undefined;
  }
  const client = new SQSClient({ region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });
  return async () => {
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  };
}

/** The event the analytics function takes to run one tenant (a schedule's event runs every tenant). */
export interface RunRequest {
  readonly tenant: TenantId;
  readonly runId: string;
}

/** Starts a run in the analytics Lambda without waiting for it (asynchronous invocation). */
export function lambdaStarter(functionName: string, region: string): (request: RunRequest) => Promise<void> {
  const client = new LambdaClient({ region });
  return async (request) => {
    await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(request)) }));
  };
}
