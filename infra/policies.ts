/**
 * Least-privilege IAM statements for every function, built as plain data so unit tests can assert
 * on them (test/infra/policies.test.ts); infra/ passes them as SST `permissions` instead of
 * `link`, which would grant `dynamodb:*` on the table.
 *
 * What each function may do follows what its code calls (core/storage, core/audit,
 * core/search/opensearch, core/events):
 * - every read goes through GetItem, Query (table and indexes) and BatchGetItem;
 * - every write is a PutItem, UpdateItem or DeleteItem, alone or inside TransactWriteItems, whose
 *   conditions (the transaction log's fences) are ConditionCheckItem; IAM authorizes a
 *   transaction by the actions it contains, so there is no TransactWriteItems action to grant;
 * - the request path audits every request (reads and denials included) with a PutItem on the
 *   audit partitions, which is all a reader may write;
 * - searches query OpenSearch through `_msearch` (and `_search`, `_count`, `_mget` on the index);
 *   only the stream processor writes to it, through `_bulk`;
 * - the stream processor writes AuditEvents (PutItem, BatchWriteItem), sweeps the abandoned
 *   transactions of the tenants it sees (reads and writes, as a writer), publishes to the topics
 *   (sns:Publish only), and its failures go to the dead-letter queue.
 * - analytics (core/analytics): `POST /$analytics` (create) writes the run's status to the reports
 *   bucket and invokes the analytics function asynchronously; `GET /$analytics` (search) reads
 *   statuses and reports; the analytics function reads the table (its GSI3 partitions, the audit
 *   log, the tenant registry) and the index (`_search` only), writes reports, announces them on
 *   its own topic, counts the stream's dead letters and invokes itself once per tenant.
 * No function may Scan (only the operator's reindex does, with the operator's credentials), and
 * none gets table-level actions (CreateTable, DeleteTable, UpdateTable, …).
 */
import { REPORTS_PREFIX, RUNS_FOLDER } from '../core/analytics/reports';
import { ANALYTICS, AUTHORIZER, EXPORT_WORKER, FUNCTIONS, STREAM_PROCESSOR } from '../functions/routes';

export interface Statement<R> {
  readonly actions: string[];
  readonly resources: R[];
  readonly conditions?: { test: string; variable: string; values: string[] }[];
}

export interface StackArns<R> {
  readonly table: R;
  /** The OpenSearch domain; undefined in `sst dev`, where there is none to grant. */
  readonly searchDomain: R | undefined;
  readonly searchIndex: string;
  readonly topics: readonly R[];
  readonly deadLetters: R;
  /** The analytics reports bucket, its "report ready" topic and the analytics function. */
  readonly analytics: { readonly bucket: R; readonly topic: R; readonly function: R };
  /** The `$export` files bucket and the export worker's queue. */
  readonly exports: { readonly bucket: R; readonly queue: R };
  /** Appends a path to an ARN: concatenation in tests, `$interpolate` in infra. */
  readonly join: (arn: R, suffix: string) => R;
}

/** What one function's code does with the stack's resources. */
interface Needs {
  readonly tableReads?: true;
  readonly tableWrites?: true;
  /** PutItem on audit partitions only: the request path's audit record. */
  readonly audit?: true;
  readonly searchQueries?: true;
  readonly streamProcessing?: true;
  /** Starts `$analytics` runs: a status object written, the analytics function invoked. */
  readonly analyticsStart?: true;
  /** Reads `$analytics` run statuses and reports. */
  readonly analyticsReports?: true;
  /** The analytics run itself (functions/analytics.ts). */
  readonly analyticsRun?: true;
  /** Kicks `$export` off: the job record put in its partition, the plan message sent. */
  readonly exportStart?: true;
  /** `GET|DELETE /_export/{id}`: reads the job, presigns its files; a cancel removes files and records. */
  readonly exportStatus?: true;
  /** The export worker (functions/export-worker.ts): reads the tenant's data, writes files and its job's records. */
  readonly exportWork?: true;
}

const READER: Needs = { tableReads: true, audit: true };

/** Keyed by module (functions/routes.ts); a function missing here fails the policy tests. */
export const FUNCTION_NEEDS: Readonly<Record<string, Needs>> = {
  [FUNCTIONS.metadata.module]: {},
  [FUNCTIONS.smartConfiguration.module]: {},
  [AUTHORIZER.module]: {},
  // GET /Patient/$export arrives on the read route, POST /Patient|Group/$export on validate's, GET / and /Group/{id}/$export on search's, POST /$export on create's.
  [FUNCTIONS.read.module]: { ...READER, exportStart: true },
  [FUNCTIONS.vread.module]: READER,
  [FUNCTIONS.history.module]: READER,
  [FUNCTIONS.search.module]: { ...READER, searchQueries: true, analyticsReports: true, exportStart: true },
  [FUNCTIONS.validate.module]: { ...READER, exportStart: true },
  [FUNCTIONS.create.module]: { ...READER, tableWrites: true, analyticsStart: true, exportStart: true },
  [FUNCTIONS.export.module]: { ...READER, exportStatus: true },
  [EXPORT_WORKER.module]: { tableReads: true, exportWork: true },
  [FUNCTIONS.update.module]: { ...READER, tableWrites: true },
  [FUNCTIONS.patch.module]: { ...READER, tableWrites: true },
  [FUNCTIONS.delete.module]: { ...READER, tableWrites: true },
  // Batch entries may be any interaction, searches included.
  [FUNCTIONS.bundle.module]: { ...READER, tableWrites: true, searchQueries: true },
  [STREAM_PROCESSOR.module]: { tableReads: true, tableWrites: true, streamProcessing: true },
  [ANALYTICS.module]: { tableReads: true, analyticsRun: true },
};

const TABLE_READS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];
const TABLE_WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'];

/** Partition keys of audit records: `TENANT#{tenant}#AUDIT#{day}#{shard}` (core/storage/keys.ts auditPK). */
export const AUDIT_PARTITIONS = 'TENANT#*#AUDIT#*';
/** Partition keys of export jobs and their chunks: `TENANT#{tenant}#EXPORT#{exportId}` (core/storage/keys.ts exportPK). */
export const EXPORT_PARTITIONS = 'TENANT#*#EXPORT#*';

/** Writes confined to some partitions of the table (dynamodb:LeadingKeys). */
function partitionWrites<R>(actions: string[], table: R, partitions: string[]): Statement<R> {
  return { actions, resources: [table], conditions: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: partitions }] };
}

const SEARCH_QUERY_PATHS = ['_search', '_count', '_mget', '_msearch'];

export function functionStatements<R>(module: string, arns: StackArns<R>): Statement<R>[] {
  const needs = FUNCTION_NEEDS[module];
  if (!needs) {
    throw new Error(`infra/policies.ts does not say what functions/${module}.ts may do`);
  }
  const tableAndIndexes = [arns.table, arns.join(arns.table, '/index/*')];
  const statements: Statement<R>[] = [];
  if (needs.tableReads) {
    statements.push({ actions: TABLE_READS, resources: tableAndIndexes });
  }
  if (needs.tableWrites) {
    statements.push({ actions: TABLE_WRITES, resources: [arns.table] });
  } else if (needs.audit) {
    statements.push(partitionWrites(['dynamodb:PutItem'], arns.table, needs.exportStart ? [AUDIT_PARTITIONS, EXPORT_PARTITIONS] : [AUDIT_PARTITIONS]));
  }
  if (needs.searchQueries && arns.searchDomain !== undefined) {
    const domain = arns.searchDomain;
    statements.push({
      // GET for bodiless queries, POST for queries with a body; both on query paths only.
      actions: ['es:ESHttpGet', 'es:ESHttpPost'],
      resources: [arns.join(domain, '/_msearch'), ...SEARCH_QUERY_PATHS.map((path) => arns.join(domain, `/${arns.searchIndex}/${path}`))],
    });
  }
  if (needs.streamProcessing) {
    // AuditEvents of every change in batches (core/audit/audit-log.ts recordMany).
    statements.push({ actions: ['dynamodb:BatchWriteItem'], resources: [arns.table] });
    if (arns.searchDomain !== undefined) {
      statements.push({ actions: ['es:ESHttpPost'], resources: [arns.join(arns.searchDomain, '/_bulk'), arns.join(arns.searchDomain, `/${arns.searchIndex}/_bulk`)] });
    }
    statements.push({ actions: ['sns:Publish'], resources: [...arns.topics] });
    // An event source mapping's on-failure destination is written with the function's role.
    statements.push({ actions: ['sqs:SendMessage'], resources: [arns.deadLetters] });
  }
  statements.push(...analyticsStatements(needs, arns), ...exportStatements(needs, arns));
  return statements;
}

function exportStatements<R>(needs: Needs, arns: StackArns<R>): Statement<R>[] {
  const { bucket, queue } = arns.exports;
  const files = arns.join(bucket, '/*');
  const statements: Statement<R>[] = [];
  if (needs.exportStart) {
    statements.push({ actions: ['sqs:SendMessage'], resources: [queue] });
  }
  if (needs.exportStatus) {
    statements.push(partitionWrites(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'], arns.table, [EXPORT_PARTITIONS]));
    // GetObject: the manifest's presigned URLs are signed with this role; ListBucket makes a missing file 404, not 403.
    statements.push({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: [files] }, { actions: ['s3:ListBucket'], resources: [bucket] });
  }
  if (needs.exportWork) {
    statements.push(partitionWrites(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem'], arns.table, [EXPORT_PARTITIONS]));
    statements.push({ actions: ['s3:PutObject', 's3:DeleteObject'], resources: [files] }, { actions: ['s3:ListBucket'], resources: [bucket] });
    // Its own queue: continuations sent, and what the event source mapping needs to feed it.
    statements.push({ actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'], resources: [queue] });
  }
  return statements;
}

function analyticsStatements<R>(needs: Needs, arns: StackArns<R>): Statement<R>[] {
  const { bucket, topic, function: analyticsFunction } = arns.analytics;
  const reports = arns.join(bucket, `/${REPORTS_PREFIX}*`);
  // Without ListBucket, S3 answers a missing object (no report yet) with 403 instead of 404.
  const listReports: Statement<R> = { actions: ['s3:ListBucket'], resources: [bucket] };
  const statements: Statement<R>[] = [];
  if (needs.analyticsStart) {
    statements.push({ actions: ['s3:PutObject'], resources: [arns.join(bucket, `/${REPORTS_PREFIX}*/${RUNS_FOLDER}*`)] });
    statements.push({ actions: ['lambda:InvokeFunction'], resources: [analyticsFunction] });
  }
  if (needs.analyticsReports) {
    statements.push({ actions: ['s3:GetObject'], resources: [reports] }, listReports);
  }
  if (needs.analyticsRun) {
    if (arns.searchDomain !== undefined) {
      statements.push({ actions: ['es:ESHttpGet', 'es:ESHttpPost'], resources: [arns.join(arns.searchDomain, `/${arns.searchIndex}/_search`)] });
    }
    statements.push({ actions: ['s3:GetObject', 's3:PutObject'], resources: [reports] }, listReports);
    statements.push({ actions: ['sns:Publish'], resources: [topic] });
    // The index health counts the stream's dead letters.
    statements.push({ actions: ['sqs:GetQueueAttributes'], resources: [arns.deadLetters] });
    // The schedule's run starts one run per tenant.
    statements.push({ actions: ['lambda:InvokeFunction'], resources: [analyticsFunction] });
  }
  return statements;
}
