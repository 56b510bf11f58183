/**
 * The DynamoDB stream consumer: turns the Lambda event into the table's stream records and lets
 * core/stream/processor.ts do the work; Powertools' batch processor reports the records that
 * failed (`batchItemFailures`), so the event source retries from the first of them, bisects or
 * sends a poisoned record to the dead-letter destination alone, and never drops the rest.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as LambdaAttributeValue, Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { config } from '../core/config.js';
import { EventPublisher } from '../core/events/publisher.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import type { BatchFailures, StreamProcessor } from '../core/stream/processor.js';
import { Components } from '../core/wiring.js';
import type { TableStreamRecord } from '../core/stream/changes.js';

const logger = new Logger({ serviceName: 'fhir-stream-processor' });

let processor: StreamProcessor | undefined;

/** The processor configured from the environment, created at the first batch and reused. */
function configuredProcessor(): StreamProcessor {
  processor ??= new Components(config(), { openSearchClient, eventPublisher: (resolved) => EventPublisher.fromConfig(resolved.events, resolved.region) }).streamProcessor;
  return processor;
}

/** A stream handler over `processor`; tests build one over a processor with faulty dependencies. */
export function streamHandler(processor: () => StreamProcessor) {
  return async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const records: TableStreamRecord[] = [];
    const failures: BatchFailures = new Map();
    for (const record of event.Records) {
      try {
        records.push(tableRecordOf(record));
      } catch (error) {
        failures.set(record.dynamodb?.SequenceNumber ?? '', error as Error);
      }
    }
    for (const [sequenceNumber, error] of await processor().process(records)) {
      failures.set(sequenceNumber, error);
    }
    for (const [sequenceNumber, error] of failures) {
      // Name and message only: client errors can carry the request body, i.e. patient data.
      logger.error('stream record failed', { sequenceNumber, error: { name: error.name, message: error.message.slice(0, 500) } });
    }
    logger.info('batch', { records: event.Records.length, failed: failures.size });
    return processPartialResponse(
      event,
      async (record: DynamoDBRecord) => {
        const failure = failures.get(record.dynamodb?.SequenceNumber ?? '');
        if (failure) {
          throw failure;
        }
      },
      new BatchProcessor(EventType.DynamoDBStreams),
      { context },
    );
  };
}

export const handler = streamHandler(configuredProcessor);

function tableRecordOf(record: DynamoDBRecord): TableStreamRecord {
  const stream = record.dynamodb ?? {};
  const keys = imageOf(stream.Keys) as { PK: string; SK: string } | undefined;
  if (!keys || !record.eventName || !stream.SequenceNumber) {
    throw new Error('A DynamoDB stream record without keys, event name or sequence number');
  }
  return { sequenceNumber: stream.SequenceNumber, eventName: record.eventName, keys, newImage: imageOf(stream.NewImage), oldImage: imageOf(stream.OldImage) };
}

/** Lambda delivers binary attributes base64-encoded in JSON; the SDK's unmarshall wants bytes. */
function imageOf(image: Record<string, LambdaAttributeValue> | undefined): Record<string, unknown> | undefined {
  return image && unmarshall(Object.fromEntries(Object.entries(image).map(([name, value]) => [name, withBytes(value)])));
}

function withBytes(value: LambdaAttributeValue): AttributeValue {
  if (value.B !== undefined) {
    return { B: Buffer.from(value.B, 'base64') };
  }
  if (value.BS !== undefined) {
    return { BS: value.BS.map((item) => Buffer.from(item, 'base64')) };
  }
  if (value.M !== undefined) {
    return { M: Object.fromEntries(Object.entries(value.M).map(([name, item]) => [name, withBytes(item)])) };
  }
  if (value.L !== undefined) {
    return { L: value.L.map(withBytes) };
  }
  return value as AttributeValue;
}
