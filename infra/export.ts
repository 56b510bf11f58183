import { EXPORT_WORKER } from '../functions/routes';
import type { DataKey } from './keys';
import { type DeployedArns, permissionsOf } from './permissions';
import type { StageSettings } from './stage';

/** How long export files are kept; the status URL answers 404 after the same time (FHIR_EXPORT_RETENTION_DAYS). */
const RETENTION_DAYS = 7;
/** Chunks run at once per stage: bounds the read rate an export puts on the table. */
const WORKER_CONCURRENCY = 10;

/**
 * Bulk Data `$export` (docs/export.md):
 * - the bucket of NDJSON files, KMS-encrypted, private, every object expired after
 *   RETENTION_DAYS (a canceled export's files are removed at once by the export function);
 * - the work queue (one message per plan or chunk; visibility longer than the worker's timeout,
 *   so a killed worker's message comes back only once its chunk's lease has expired) with a
 *   dead-letter queue after EXPORT_WORKER.maxReceiveCount deliveries;
 * - the worker, one message per invocation, at most WORKER_CONCURRENCY at once;
 * - a Glue table over the whole bucket for Athena: one line per resource (`line`), partitions
 *   `type`, `tenant` and `export` projected from the key layout (core/export/layout.ts), tenant
 *   and export injected: every query must name both, so none reads across tenants by accident.
 *
 * `apiEnvironment` is what the API functions read (core/config.ts ExportConfig); the functions
 * that kick exports off need sqs:SendMessage on the queue, the export function s3:GetObject,
 * ListBucket and DeleteObject on the bucket (infra/policies.ts).
 */
export function createExportResources(key: DataKey) {
  const bucket = new sst.aws.Bucket('FhirExportFiles', { lifecycle: [{ id: 'expire-exports', expiresIn: `${RETENTION_DAYS} days` }] });
  new aws.s3.BucketServerSideEncryptionConfiguration('FhirExportFilesEncryption', {
    bucket: bucket.name,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', ...(key ? { kmsMasterKeyId: key.arn } : {}) }, bucketKeyEnabled: true }],
  });
  const encryption = key ? { kmsMasterKeyId: key.arn } : { sqsManagedSseEnabled: true };
  const deadLetters = new sst.aws.Queue('FhirExportDeadLetters', { transform: { queue: { messageRetentionSeconds: 14 * 24 * 60 * 60, ...encryption } } });
  const queue = new sst.aws.Queue('FhirExportWork', {
    visibilityTimeout: `${EXPORT_WORKER.timeoutSeconds + 60} seconds`,
    dlq: { queue: deadLetters.arn, retry: EXPORT_WORKER.maxReceiveCount },
    transform: { queue: encryption },
  });
  return { bucket, queue, deadLetters, apiEnvironment: { FHIR_EXPORT_BUCKET: bucket.name, FHIR_EXPORT_QUEUE_URL: queue.url, FHIR_EXPORT_RETENTION_DAYS: String(RETENTION_DAYS) } };
}

export type ExportResources = ReturnType<typeof createExportResources>;

/** The worker on the queue, with only the grants infra/policies.ts gives it, and the Glue table over the files. */
export function createExportWorker({ bucket, queue, apiEnvironment }: ExportResources, table: sst.aws.Dynamo, arns: DeployedArns, settings: StageSettings) {
  const environment = {
    FHIR_TABLE_NAME: table.name,
    ...apiEnvironment,
  };
  queue.subscribe(
    {
      handler: `functions/${EXPORT_WORKER.module}.handler`,
      runtime: 'nodejs22.x',
      memory: `${EXPORT_WORKER.memoryMB} MB`,
      timeout: `${EXPORT_WORKER.timeoutSeconds} seconds`,
      environment,
      permissions: permissionsOf(EXPORT_WORKER.module, arns),
      logging: { retention: settings.logRetention },
      copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }],
    },
    { batch: { size: 1, partialResponses: true }, transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: WORKER_CONCURRENCY } } } },
  );
  const database = new aws.glue.CatalogDatabase('FhirExportCatalog', { name: `fhir_export_${$app.stage.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}` });
  new aws.glue.CatalogTable('FhirExportNdjson', {
    databaseName: database.name,
    name: 'ndjson',
    tableType: 'EXTERNAL_TABLE',
    parameters: {
      EXTERNAL: 'TRUE',
      'projection.enabled': 'true',
      'projection.type.type': 'injected',
      'projection.tenant.type': 'injected',
      'projection.export.type': 'injected',
      'storage.location.template': $interpolate`s3://${bucket.name}/\${type}/tenant=\${tenant}/export=\${export}/`,
    },
    partitionKeys: [
      { name: 'type', type: 'string' },
      { name: 'tenant', type: 'string' },
      { name: 'export', type: 'string' },
    ],
    storageDescriptor: {
      location: $interpolate`s3://${bucket.name}/`,
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      // One column per line: the resource's JSON, read with json_extract (no tab or \u0001 ever occurs unescaped in JSON).
      serDeInfo: { serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', parameters: { 'field.delim': '\u0001' } },
      columns: [{ name: 'line', type: 'string' }],
    },
  });
  return { database };
}
