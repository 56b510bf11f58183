/**
 * Bulk export on this machine: the export bucket (local S3) and work queue (SQS) in fauxqs, and
 * a poller that feeds the queue to the very handler Lambda runs (functions/export-worker.ts) in
 * this process, as the SQS event source mapping would: one message per invocation, several
 * invocations at once, a message deleted when its invocation succeeds and offered again (after a
 * short visibility timeout here) when it fails, with its receive count.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EXPORT_WORKER } from '../../functions/routes.js';
import { LOCAL_CREDENTIALS } from './credentials.js';
import { lambdaContext } from './http-server.js';
import type { LocalMessaging } from './messaging.js';
import { createLocalBucket } from './storage.js';

export type ExportWorkerLambda = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface LocalExportWorker {
  readonly bucket: string;
  readonly queueUrl: string;
  /** `FHIR_EXPORT_BUCKET`, `FHIR_EXPORT_QUEUE_URL`, `S3_ENDPOINT`, `SQS_ENDPOINT`: what the handlers read. */
  readonly env: Record<string, string>;
  /** Starts polling (after the handlers' environment is in place). */
  start(handler?: ExportWorkerLambda): void;
  stop(): Promise<void>;
}

/** Invocations at once: the local stand-in for Lambda's concurrency. */
const CONCURRENCY = 4;
/** Seconds before a failed message is offered again (SQS would wait for the visibility timeout). */
const RETRY_DELAY_SECONDS = 1;

export async function createLocalExportWorker(messaging: LocalMessaging, options: { bucket?: string; queue?: string; retentionDays?: number } = {}): Promise<LocalExportWorker> {
  const bucket = await createLocalBucket(messaging, options.bucket ?? 'fhir-export', { expireAfterDays: options.retentionDays ?? 7 });
  const sqs = new SQSClient({ endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS });
  const { QueueUrl: queueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: options.queue ?? 'fhir-export-work', Attributes: { VisibilityTimeout: String(EXPORT_WORKER.timeoutSeconds + 60) } }),
  );
  if (!queueUrl) {
    throw new Error('CreateQueue returned no QueueUrl');
  }
  let running = false;
  let loop: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();

  const invoke = async (handler: ExportWorkerLambda, message: Message) => {
    const record = {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: { ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1' },
      messageAttributes: {},
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueUrl,
      awsRegion: messaging.region,
    } as unknown as SQSEvent['Records'][number];
    let failed: boolean;
    try {
      const result = await handler({ Records: [record] }, lambdaContext(EXPORT_WORKER));
      failed = result.batchItemFailures.length > 0;
    } catch (error) {
      console.error('export worker invocation failed', error);
      failed = true;
    }
    if (failed) {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: RETRY_DELAY_SECONDS }));
    } else {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  };

  const poll = async (handler: ExportWorkerLambda) => {
    while (running) {
      const free = CONCURRENCY - inFlight.size;
      if (free <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      let messages: Message[] = [];
      try {
        ({ Messages: messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: free, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
        ));
      } catch (error) {
        if (running) {
          console.error('export queue receive failed', error);
        }
      }
      for (const message of messages) {
        const task = invoke(handler, message).finally(() => inFlight.delete(task));
        inFlight.add(task);
      }
      if (messages.length === 0) {
        await sleep(50);
      }
    }
  };

  return {
    bucket: bucket.name,
    queueUrl,
    env: { FHIR_EXPORT_BUCKET: bucket.name, FHIR_EXPORT_QUEUE_URL: queueUrl, ...bucket.env, SQS_ENDPOINT: messaging.endpoint },
    start(handler) {
      running = true;
      loop = (async () => poll(handler ?? ((await import('../../functions/export-worker.js')).handler as ExportWorkerLambda)))();
    },
    async stop() {
      running = false;
      await loop;
      await Promise.allSettled(inFlight);
      sqs.destroy();
    },
  };
}
