/** The IAM statements each function gets: only what its code uses, never table administration. */
import { describe, expect, it } from 'vitest';
import { auditPK, resourcePK } from '../../core/storage/keys.js';
import type { TenantId } from '../../core/tenant.js';
import { ANALYTICS, FUNCTIONS, STREAM_PROCESSOR } from '../../functions/routes.js';
import { AUDIT_PARTITIONS, functionStatements, type StackArns, type Statement } from '../../infra/policies.js';

const TABLE = 'arn:aws:dynamodb:eu-west-1:1:table/fhir';
const DOMAIN = 'arn:aws:es:eu-west-1:1:domain/fhir-search';
const REPORTS = 'arn:aws:s3:::fhir-analytics-reports';
const arns: StackArns<string> = {
  table: TABLE,
  searchDomain: DOMAIN,
  searchIndex: 'fhir-resources',
  topics: ['arn:aws:sns:eu-west-1:1:changes', 'arn:aws:sns:eu-west-1:1:audit'],
  deadLetters: 'arn:aws:sqs:eu-west-1:1:dlq',
  analytics: { bucket: REPORTS, topic: 'arn:aws:sns:eu-west-1:1:analytics', function: 'arn:aws:lambda:eu-west-1:1:function:fhir-analytics' },
  join: (arn, suffix) => arn + suffix,
};

const MODULES = [...Object.values(FUNCTIONS).map((spec) => spec.module), 'authorizer', STREAM_PROCESSOR.module, ANALYTICS.module];
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

  it('names every resource exactly: no wildcard beyond index, audit and report paths', () => {
    for (const statement of statementsOf(module)) {
      for (const resource of statement.resources) {
        expect(resource).not.toBe('*');
        expect(resource.replace('/index/*', '').replace(`${REPORTS}/analytics/*/runs/*`, '').replace(`${REPORTS}/analytics/*`, '')).not.toContain('*');
      }
    }
  });
});

describe('readers', () => {
  it.each([FUNCTIONS.read.module, FUNCTIONS.vread.module, FUNCTIONS.history.module, FUNCTIONS.search.module, FUNCTIONS.validate.module])(
    '%s reads the table and its indexes and writes nothing but audit records',
    (module) => {
      const [reads, audit, ...rest] = statementsOf(module);
      expect(reads).toEqual({ actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], resources: [TABLE, `${TABLE}/index/*`] });
      expect(audit).toEqual({ actions: ['dynamodb:PutItem'], resources: [TABLE], conditions: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [AUDIT_PARTITIONS] }] });
      expect(rest.every((statement) => statement.actions.every((action) => action.startsWith('es:') || action.startsWith('s3:')))).toBe(true);
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
  it('writes audit records in batches, and no other function batch-writes', () => {
    const batchWriters = MODULES.filter((module) => actionsOf(module).has('dynamodb:BatchWriteItem'));
    expect(batchWriters).toEqual([STREAM_PROCESSOR.module]);
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
    expect(withPrefix('s3:').sort()).toEqual([ANALYTICS.module, FUNCTIONS.create.module, FUNCTIONS.search.module].sort());
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
  expect(() => statementsOf('export')).toThrow(/functions\/export\.ts/);
});
