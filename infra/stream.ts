import { STREAM_PROCESSOR } from '../functions/routes';
import type { EventTopics } from './events';
import type { DataKey } from './keys';
import { type DeployedArns, permissionsOf } from './permissions';
import { searchEnvironment } from './search';
import type { StageSettings } from './stage';

const MAX_RETRY_ATTEMPTS = 10;
const FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60;

/**
 * Where the stream processor's failed ranges go: Lambda's failure record (shard, sequence-number
 * range, error), not the items: it says which stream records to replay, which must happen within
 * the stream's 24 h.
 */
export function createDeadLetters(key: DataKey) {
  return new sst.aws.Queue('FhirStreamDeadLetters', {
    transform: {
      queue: {
        messageRetentionSeconds: FOURTEEN_DAYS_SECONDS,
        ...(key ? { kmsMasterKeyId: key.arn } : { sqsManagedSseEnabled: true }),
      },
    },
  });
}

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
 * - retries are bounded, after which the failed range goes to the dead-letter queue rather than
 *   holding up its shard until the stream's 24-hour retention drops it unseen.
 */
export function createStreamProcessor(table: sst.aws.Dynamo, search: sst.aws.OpenSearch, topics: EventTopics, deadLetters: sst.aws.Queue, arns: DeployedArns, settings: StageSettings) {
  return table.subscribe(
    'FhirStreamProcessor',
    {
      handler: `functions/${STREAM_PROCESSOR.module}.handler`,
      runtime: 'nodejs22.x',
      memory: `${STREAM_PROCESSOR.memoryMB} MB`,
      timeout: `${STREAM_PROCESSOR.timeoutSeconds} seconds`,
      environment: {
        FHIR_TABLE_NAME: table.name,
        ...searchEnvironment(search),
        FHIR_CHANGE_TOPIC_ARN: topics.changes.arn,
        FHIR_AUDIT_TOPIC_ARN: topics.audit.arn,
      },
      // Reading the stream is granted by `subscribe`; the rest is infra/policies.ts.
      permissions: permissionsOf(STREAM_PROCESSOR.module, arns),
      logging: { retention: settings.logRetention },
      copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }],
    },
    {
      transform: {
        eventSourceMapping: {
          // Indexing is idempotent and never regresses a newer version, and events carry stable
          // ids, so replaying the retained stream when the mapping is (re)created is harmless;
          // LATEST would skip whatever was written while no mapping existed.
          startingPosition: 'TRIM_HORIZON',
          batchSize: STREAM_PROCESSOR.batchSize,
          functionResponseTypes: ['ReportBatchItemFailures'],
          bisectBatchOnFunctionError: true,
          maximumRetryAttempts: MAX_RETRY_ATTEMPTS,
          destinationConfig: { onFailure: { destinationArn: deadLetters.arn } },
        },
      },
    },
  );
}
