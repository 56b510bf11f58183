/**
 * The stream processor of a read-your-writes test file: the real handler behind the local stream
 * poller, holding every batch `LAG_MS` before it (the index lags by as much), from the stream's
 * current end (the table is shared by the run's test files).
 */
import { afterAll, beforeAll } from 'vitest';
import { startLocalStreamProcessing } from '../../scripts/local/stream-processing.js';
import type { StreamPoller } from '../../scripts/local/stream-poller.js';
import { LAG_MS } from './read-your-writes.js';

export function useLaggingStreamProcessor(): () => StreamPoller {
  let poller: StreamPoller | undefined;
  beforeAll(async () => {
    poller = await startLocalStreamProcessing({
      endpoint: process.env.DYNAMODB_ENDPOINT!,
      tableName: process.env.FHIR_TABLE_NAME!,
      startingPosition: 'LATEST',
      deliveryDelayMs: LAG_MS,
      pollIntervalMs: 50,
    });
  });
  afterAll(async () => {
    await poller?.stop();
  });
  return () => {
    if (!poller) {
      throw new Error('the stream processor starts in beforeAll');
    }
    return poller;
  };
}
