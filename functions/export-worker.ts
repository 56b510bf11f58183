/**
 * The export worker: consumes the export queue (one message at a time: a job's plan or one of
 * its chunks) and lets core/export/worker.ts do the work within this invocation's time, saving
 * the chunk's progress a minute before the timeout and queuing the rest. A failed message comes
 * back (partial batch response); its last attempt fails the export and removes its files, so a
 * client polling it sees the error rather than waiting forever.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { config } from '../core/config.js';
import type { ExportMessage } from '../core/export/drivers.js';
import { s3ExportFiles } from '../core/export/s3.js';
import { sqsExportQueue } from '../core/export/sqs.js';
import { ChunkBusyError, type ExportWorker } from '../core/export/worker.js';
import { Components } from '../core/wiring.js';
import { EXPORT_WORKER } from './routes.js';

const logger = new Logger({ serviceName: 'fhir-export-worker' });

/** Time kept back from the timeout to write the last file and record it. */
const SAVE_MARGIN_MS = 60_000;
/** A lease outlives the invocation by this much, so a killed worker's chunk is free again by its message's next delivery. */
const LEASE_MARGIN_MS = 5_000;

let worker: ExportWorker | undefined;

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  worker ??= new Components(config(), { exportFiles: s3ExportFiles, exportQueue: sqsExportQueue }).exportWorker;
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const message = JSON.parse(record.body) as ExportMessage;
    const remaining = context.getRemainingTimeInMillis();
    const started = Date.now();
    try {
      await worker.handle(message, { stopAt: started + Math.max(remaining - SAVE_MARGIN_MS, remaining / 2), leaseUntil: started + remaining + LEASE_MARGIN_MS });
      logger.info('export work done', { ...message, durationMs: Date.now() - started });
    } catch (error) {
      const attempts = Number(record.attributes.ApproximateReceiveCount ?? 1);
      if (error instanceof ChunkBusyError) {
        logger.info('export chunk busy; retried later', { ...message, attempts });
      } else {
        logger.error('export work failed', { ...message, attempts, error: { name: (error as Error).name, message: String((error as Error).message).slice(0, 500) } });
      }
      if (attempts < EXPORT_WORKER.maxReceiveCount) {
        batchItemFailures.push({ itemIdentifier: record.messageId });
      } else if (!(error instanceof ChunkBusyError)) {
        await worker.abandon(message, `${(error as Error).name}: ${String((error as Error).message).slice(0, 300)}`);
      }
    }
  }
  return { batchItemFailures };
}
