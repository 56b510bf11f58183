import { STREAM_PROCESSOR } from '../functions/routes';
import type { EventTopics } from './events';
import { searchAccess, searchEnvironment } from './search';

const BATCH_SIZE = 100;
const MAX_RETRY_ATTEMPTS = 10;
const FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60;

/**
 * The stream processor: the table's stream → OpenSearch index, change events and AuditEvents.
 *
 * SST's `subscribe` only sets the stream, the function and a start position; the error handling
 * that keeps one bad record from blocking or dropping the others is set on the event source
 * mapping itself (`transform.eventSourceMapping`):
 * - the handler reports the records it could not process (`ReportBatchItemFailures`), so Lambda
 *   retries from the first failed one instead of the whole batch;
 * - a batch that fails as a whole (timeout, crash) is split in two and retried, isolating a
 *   poison record in a few invocations;
 * - retries are bounded, after which the failed range goes to a dead-letter queue rather than
 *   holding up its shard until the stream's 24-hour retention drops it unseen.
 */
export function createStreamProcessor(table: sst.aws.Dynamo, search: sst.aws.OpenSearch, topics: EventTopics) {
  // What lands here is Lambda's failure record (shard, sequence-number range, error), not the
  // items: it says which stream records to replay, which must happen within the stream's 24 h.
  const deadLetters = new sst.aws.Queue('FhirStreamDeadLetters', {
    transform: { queue: { messageRetentionSeconds: FOURTEEN_DAYS_SECONDS } },
  });

  const subscriber = table.subscribe(
    'FhirStreamProcessor',
    {
      handler: `functions/${STREAM_PROCESSOR.module}.handler`,
      runtime: 'nodejs22.x',
      memory: `${STREAM_PROCESSOR.memoryMB} MB`,
      timeout: `${STREAM_PROCESSOR.timeoutSeconds} seconds`,
      // The table for the audit items it writes; the topics for the events it publishes.
      link: [table, search, topics.changes, topics.audit],
      environment: {
        FHIR_TABLE_NAME: table.name,
        ...searchEnvironment(search),
        FHIR_CHANGE_TOPIC_ARN: topics.changes.arn,
        FHIR_AUDIT_TOPIC_ARN: topics.audit.arn,
      },
      permissions: [
        // Bulk indexing and deletes: POST _bulk, PUT/DELETE documents, index templates.
        searchAccess(search, ['es:ESHttp*']),
        // An event source mapping's on-failure destination is written with the function's role.
        { actions: ['sqs:SendMessage'], resources: [deadLetters.arn] },
      ],
      copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }],
    },
    {
      transform: {
        eventSourceMapping: {
          // Indexing is idempotent and never regresses a newer version, and events carry stable
          // ids, so replaying the retained stream when the mapping is (re)created is harmless;
          // LATEST would skip whatever was written while no mapping existed.
          startingPosition: 'TRIM_HORIZON',
          batchSize: BATCH_SIZE,
          functionResponseTypes: ['ReportBatchItemFailures'],
          bisectBatchOnFunctionError: true,
          maximumRetryAttempts: MAX_RETRY_ATTEMPTS,
          destinationConfig: { onFailure: { destinationArn: deadLetters.arn } },
        },
      },
    },
  );
  return { subscriber, deadLetters };
}
