/**
 * The stream processor on this machine: the poller reads DynamoDB Local's stream and invokes the
 * very handler Lambda runs (functions/stream-processor.ts), with Lambda's event shape, batch
 * size, per-shard order, retries and bisection. The handler reads its configuration (table,
 * OpenSearch, SNS topics) from the environment, as deployed. `FHIR_SIMULATE_INDEX_LAG_MS` holds
 * every batch that long before the handler sees it (the index then lags the table by as much).
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { STREAM_PROCESSOR } from '../../functions/routes.js';
import { lambdaContext } from './http-server.js';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from './stream-poller.js';

export type StreamLambda = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

export async function startLocalStreamProcessing(
  options: Omit<StreamPollerOptions, 'handler'> & { readonly handler?: StreamLambda },
): Promise<StreamPoller> {
  const handler = options.handler ?? ((await import('../../functions/stream-processor.js')).handler as StreamLambda);
  const deliveryDelayMs = options.deliveryDelayMs ?? (Number(process.env.FHIR_SIMULATE_INDEX_LAG_MS) || undefined);
  return startStreamPoller({ batchSize: STREAM_PROCESSOR.batchSize, ...options, deliveryDelayMs, handler: (event) => handler(event, lambdaContext(STREAM_PROCESSOR)) });
}
