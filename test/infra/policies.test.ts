/** The IAM statements each function gets: only what its code uses, never table administration. */
import { describe, expect, it } from 'vitest';
import { auditPK, exportPK, resourcePK } from '../../core/storage/keys.js';
import type { TenantId } from '../../core/tenant.js';
import { ANALYTICS, EXPORT_WORKER, FUNCTIONS, STREAM_PROCESSOR } from '../../functions/routes.js';
import { AUDIT_PARTITIONS, EXPORT_PARTITIONS, functionStatements, type StackArns, type Statement } from '../../infra/policies.js';

const TABLE = 'arn:aws:dynamodb:eu-west-1:1:table/fhir';
const DOMAIN = 'arn:aws:es:eu-west-1:1:domain/fhir-search';
const REPORTS = 'arn:aws:s3:::fhir-analytics-reports';
const EXPORTS = 'arn:aws:s3:::fhir-export-files';
const arns: StackArns<string> = {
  table: TABLE,
  searchDomain: DOMAIN,
  searchIndex: 'fhir-resources',
  topics: ['arn:aws:sns:eu-west-1:1:changes', 'arn:aws:sns:eu-west-1:1:audit'],
  deadLetters: 'arn:aws:sqs:eu-west-1:1:dlq',
  analytics: { bucket: REPORTS, topic: 'arn:aws:sns:eu-west-1:1:analytics', function: 'arn:aws:lambda:eu-west-1:1:function:fhir-analytics' },
  exports: { bucket: EXPORTS, queue: 'arn:aws:sqs:eu-west-1:1:export-work' },
  join: (arn, suffix) => arn + suffix,
};

const MODULES = [...Object.values(FUNCTIONS).map((spec) => spec.module), 'authorizer', STREAM_PROCESSOR.module, ANALYTICS.module, EXPORT_WORKER.module];
const statementsOf = (module: string) => functionStatements(module, arns);
const actionsOf = (module: string) => new Set(statementsOf(module).flatMap((statement) => statement.actions));

describe.each(MODULES)('functions/%s', (module) => {
  it.each([
    'dynamodb:*',
    'dynamodb:DeleteTable',
    'dynamodb:CreateTable',
    'dynamodb:UpdateTable',
    'dynamodb:Scan',
    'dynamodb:PartiQLSelect',
    'dynamodb:ExportTableToPointInTime',
    'es:ESHttpDelete',
    'es:ESHttpPut',
    'es:ESHttp*',
    'sns:Subscribe',
    'sns:*',
    'sqs:*',
    'kms:*',
  ])('gets no %s', (action) => {
    expect(actionsOf(module).has(action)).toBe(false);
  });

  it('names every resource exactly: no wildcard beyond index, report and export-file paths', () => {
    for (const statement of statementsOf(module)) {
      for (const resource of statement.resources) {
        expect(resource).not.toBe('*');
        expect(resource.replace('/index/*', '').replace(`${REPORTS}/analytics/*/runs/*`, '').replace(`${REPORTS}/analytics/*`, '').replace(`${EXPORTS}/*`, '')).not.toContain('*');
      }
    }
  });
});

describe('readers', () => {
  const KICK_OFF: readonly string[] = [FUNCTIONS.read.module, FUNCTIONS.search.module, FUNCTIONS.validate.module];
  it.each([FUNCTIONS.read.module, FUNCTIONS.vread.module, FUNCTIONS.history.module, FUNCTIONS.search.module, FUNCTIONS.validate.module])(
    '%s reads the table and its indexes and writes nothing but audit records (and export jobs, where $export arrives)',
    (module) => {
      const [reads, partitionPut, ...rest] = statementsOf(module);
      expect(reads).toEqual({ actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], resources: [TABLE, `${TABLE}/index/*`] });
      const partitions = KICK_OFF.includes(module) ? [AUDIT_PARTITIONS, EXPORT_PARTITIONS] : [AUDIT_PARTITIONS];
      expect(partitionPut).toEqual({ actions: ['dynamodb:PutItem'], resources: [TABLE], conditions: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: partitions }] });
      expect(rest.every((statement) => statement.actions.every((action) => action.startsWith('es:') || action.startsWith('s3:') || action === 'sqs:SendMessage'))).toBe(true);
    },
  );

  it('confines the audit PutItem to audit partitions, not resources', () => {
    const pattern = new RegExp(`^${AUDIT_PARTITIONS.replaceAll('*', '.*')}$`);
    expect(auditPK('clinic-1' as TenantId, '2026-12-04', 3)).toMatch(pattern);
    expect(resourcePK('clinic-1' as TenantId, 'Patient', 'p1')).not.toMatch(pattern);
  });
});

describe('writers', () => {
  it.each([FUNCTIONS.create.module, FUNCTIONS.update.module, FUNCTIONS.patch.module, FUNCTIONS.delete.module, FUNCTIONS.bundle.module, STREAM_PROCESSOR.module])('%s writes items, conditionally, on the table only', (module) => {
    const writes = statementsOf(module).find((statement) => statement.actions.includes('dynamodb:UpdateItem'))!;
    expect(writes).toEqual({ actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'], resources: [TABLE] });
  });
});

describe('OpenSearch', () => {
  const searchResources = (module: string) => statementsOf(module).filter((statement: Statement<string>) => statement.actions.some((action) => action.startsWith('es:')));

  it('lets search and bundle query, on query paths only', () => {
    for (const module of [FUNCTIONS.search.module, FUNCTIONS.bundle.module]) {
      const [statement] = searchResources(module);
      expect(statement!.actions).toEqual(['es:ESHttpGet', 'es:ESHttpPost']);
      for (const resource of statement!.resources) {
        expect(resource).toMatch(/\/(_search|_count|_mget|_msearch)$/);
      }
    }
  });

  it('lets only the stream processor _bulk, and no API function reach the domain otherwise', () => {
    const bulkers = MODULES.filter((module) => searchResources(module).some((statement) => statement.resources.some((resource) => resource.endsWith('/_bulk'))));
    expect(bulkers).toEqual([STREAM_PROCESSOR.module]);
    const searchers = MODULES.filter((module) => searchResources(module).length > 0);
    expect(searchers.sort()).toEqual([ANALYTICS.module, FUNCTIONS.bundle.module, FUNCTIONS.search.module, STREAM_PROCESSOR.module].sort());
  });
});

describe('the stream processor', () => {
  it('writes audit records in batches, and no other function batch-writes outside export partitions', () => {
    const unconfined = MODULES.filter((module) => statementsOf(module).some((statement) => statement.actions.includes('dynamodb:BatchWriteItem') && statement.conditions === undefined));
    expect(unconfined).toEqual([STREAM_PROCESSOR.module]);
  });

  it('may only publish to the topics and send its failures to the dead-letter queue', () => {
    const statements = statementsOf(STREAM_PROCESSOR.module);
    expect(statements.filter((statement) => statement.actions.some((action) => action.startsWith('sns:')))).toEqual([{ actions: ['sns:Publish'], resources: arns.topics }]);
    expect(statements.filter((statement) => statement.actions.some((action) => action.startsWith('sqs:')))).toEqual([{ actions: ['sqs:SendMessage'], resources: [arns.deadLetters] }]);
  });
});

describe('analytics', () => {
  const withPrefix = (prefix: string) => MODULES.filter((module) => [...actionsOf(module)].some((action) => action.startsWith(prefix)));

  it('reads the table and its indexes, and writes nothing to it', () => {
    const statements = statementsOf(ANALYTICS.module);
    expect(statements[0]).toEqual({ actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], resources: [TABLE, `${TABLE}/index/*`] });
    expect([...actionsOf(ANALYTICS.module)].filter((action) => action.startsWith('dynamodb:'))).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']);
  });

  it('queries the index with _search only', () => {
    const search = statementsOf(ANALYTICS.module).filter((statement) => statement.actions.some((action) => action.startsWith('es:')));
    expect(search).toEqual([{ actions: ['es:ESHttpGet', 'es:ESHttpPost'], resources: [`${DOMAIN}/fhir-resources/_search`] }]);
  });

  it('writes and reads reports under the reports prefix, and publishes to its own topic only', () => {
    const statements = statementsOf(ANALYTICS.module);
    expect(statements).toContainEqual({ actions: ['s3:GetObject', 's3:PutObject'], resources: [`${REPORTS}/analytics/*`] });
    expect(statements.filter((statement) => statement.actions.some((action) => action.startsWith('sns:')))).toEqual([{ actions: ['sns:Publish'], resources: [arns.analytics.topic] }]);
    expect(statements.filter((statement) => statement.actions.some((action) => action.startsWith('sqs:')))).toEqual([{ actions: ['sqs:GetQueueAttributes'], resources: [arns.deadLetters] }]);
  });

  it('lets POST /$analytics write run statuses only and start the analytics function, and GET /$analytics read', () => {
    const create = statementsOf(FUNCTIONS.create.module);
    expect(create.filter((statement) => statement.actions.some((action) => action.startsWith('s3:')))).toEqual([{ actions: ['s3:PutObject'], resources: [`${REPORTS}/analytics/*/runs/*`] }]);
    expect(create).toContainEqual({ actions: ['lambda:InvokeFunction'], resources: [arns.analytics.function] });
    const search = statementsOf(FUNCTIONS.search.module);
    expect(search.filter((statement) => statement.actions.some((action) => action.startsWith('s3:')))).toEqual([
      { actions: ['s3:GetObject'], resources: [`${REPORTS}/analytics/*`] },
      { actions: ['s3:ListBucket'], resources: [REPORTS] },
    ]);
  });

  it('gives no other function the bucket or an invocation', () => {
    const reportUsers = MODULES.filter((module) => statementsOf(module).some((statement) => statement.resources.some((resource) => resource.startsWith(REPORTS))));
    expect(reportUsers.sort()).toEqual([ANALYTICS.module, FUNCTIONS.create.module, FUNCTIONS.search.module].sort());
    expect(withPrefix('lambda:').sort()).toEqual([ANALYTICS.module, FUNCTIONS.create.module].sort());
    for (const module of MODULES) {
      for (const statement of statementsOf(module).filter((statement) => statement.actions.some((action) => action.startsWith('lambda:')))) {
        expect(statement).toEqual({ actions: ['lambda:InvokeFunction'], resources: [arns.analytics.function] });
      }
    }
  });
});

it('gives the public functions and the authorizer nothing', () => {
  for (const module of [FUNCTIONS.metadata.module, FUNCTIONS.smartConfiguration.module, 'authorizer']) {
    expect(statementsOf(module)).toEqual([]);
  }
});

it('refuses a function it has not classified', () => {
  expect(() => statementsOf('no-such-function')).toThrow(/functions\/no-such-function\.ts/);
});

describe('$export', () => {
  const touching = (prefix: string) => MODULES.filter((module) => statementsOf(module).some((statement) => statement.resources.some((resource) => resource.startsWith(prefix))));

  it('lets the functions $export arrives at send to the work queue, and nothing else of it', () => {
    const senders = MODULES.filter((module) => statementsOf(module).some((statement) => statement.resources.includes(arns.exports.queue)));
    expect(senders.sort()).toEqual([FUNCTIONS.create.module, FUNCTIONS.read.module, FUNCTIONS.search.module, FUNCTIONS.validate.module, EXPORT_WORKER.module].sort());
    for (const module of senders.filter((module) => module !== EXPORT_WORKER.module)) {
      expect(statementsOf(module).filter((statement) => statement.resources.includes(arns.exports.queue))).toEqual([{ actions: ['sqs:SendMessage'], resources: [arns.exports.queue] }]);
    }
  });

  it('gives the files only to the export function (read, delete) and the worker (write, delete)', () => {
    expect(touching(EXPORTS).sort()).toEqual([FUNCTIONS.export.module, EXPORT_WORKER.module].sort());
    expect(actionsOf(FUNCTIONS.export.module).has('s3:PutObject')).toBe(false);
    expect(actionsOf(EXPORT_WORKER.module).has('s3:GetObject')).toBe(false);
  });

  it('confines the export function and the worker to export partitions when they write the table', () => {
    for (const module of [FUNCTIONS.export.module, EXPORT_WORKER.module]) {
      const writes = statementsOf(module).filter((statement) => statement.actions.some((action) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(action)));
      for (const statement of writes) {
        expect(statement.conditions?.[0].values.every((partition) => partition === EXPORT_PARTITIONS || partition === AUDIT_PARTITIONS)).toBe(true);
      }
    }
    const pattern = new RegExp(`^${EXPORT_PARTITIONS.replaceAll('*', '.*')}$`);
    expect(exportPK('clinic-1' as TenantId, 'e1')).toMatch(pattern);
    expect(resourcePK('clinic-1' as TenantId, 'Patient', 'p1')).not.toMatch(pattern);
  });
});
