/**
 * The export work queue in SQS: one message per plan or chunk, consumed by the export worker
 * (functions/export-worker.ts; locally scripts/local/export-worker.ts). The functions that kick
 * exports off (read, search, create, validate: API Gateway routes `$export` paths to them) bring
 * this driver; the SQS client loads at the first kick-off, not at their cold start.
 */
import type { ExportConfig } from '../config.js';
import type { ExportMessage, ExportQueue } from './drivers.js';

/** SQS's limit per SendMessageBatch. */
const SQS_BATCH = 10;

export function sqsExportQueue(config: ExportConfig, region: string): ExportQueue {
  let client: Promise<{ send: (messages: readonly ExportMessage[]) => Promise<void> }> | undefined;
  const connect = async () => {
    const { SQSClient, SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({ region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });
    return {
      async send(messages: readonly ExportMessage[]) {
        for (let offset = 0; offset < messages.length; offset += SQS_BATCH) {
          const batch = messages.slice(offset, offset + SQS_BATCH);
          const { Failed = [] } = await sqs.send(
            new SendMessageBatchCommand({ QueueUrl: config.queueUrl, Entries: batch.map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) })) }),
          );
          if (Failed.length > 0) {
            throw new Error(`SQS refused ${Failed.length} export messages: ${Failed[0].Code} ${Failed[0].Message ?? ''}`);
          }
        }
      },
    };
  };
  return {
    async send(messages) {
      client ??= connect();
      await (await client).send(messages);
    },
  };
}
