/**
 * One analytics run for one tenant: the resource figures from the search index when it is
 * configured (aggregations, index-figures.ts) or from the table's access paths otherwise
 * (table-figures.ts), the data-quality pass over the same store, API activity from the audit
 * log, and the index's health. Everything read is the tenant's own partitions or shard, so the
 * run's cost follows the tenant's data, not the table.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { Resource } from '@medplum/fhirtypes';
import type { AuditLog } from '../audit/audit-log.js';
import { incompletelyIndexed } from '../search/opensearch/index-issues.js';
import type { ResourceRepository } from '../storage/repository.js';
import type { TenantId } from '../tenant.js';
import { apiActivity } from './activity.js';
import { indexFigures } from './index-figures.js';
import { forEachIndexedResource } from './index-resources.js';
import { QualityPass } from './quality.js';
import { type AnalyticsReport, type Figure, type FigureSource, type IndexHealth, REPORT_SCHEMA, REPORT_SCHEMA_VERSION, type TenantFigures, type TypeCount } from './report.js';
import { TableFigures } from './table-figures.js';
import type { ValidationVerdicts } from './verdicts.js';
import { forEachTableResource, tableTypeCounts } from './table-resources.js';

export interface AnalyticsSources {
  readonly repository: ResourceRepository;
  readonly auditLog: AuditLog;
  /** The search index; absent: the DynamoDB-only path. */
  readonly index?: { readonly client: Client; readonly index: string };
  /** Failure records waiting in the stream's dead-letter queue; absent when none is configured. */
  readonly deadLetters?: () => Promise<number>;
}

export interface RunOptions {
  readonly tenant: TenantId;
  readonly runId: string;
  /** The moment the figures describe; resources last updated after it are left out. */
  readonly asOf: string;
  /** Days of API activity, up to `asOf`. */
  readonly activityDays: number;
  /** Which path aggregates; default: OpenSearch when configured. */
  readonly engine?: 'opensearch' | 'dynamodb';
  /** When (epoch ms) the data-quality pass stops validating, so a large tenant's run ends in time; default: never. */
  readonly validateUntil?: number;
  /** Earlier runs' validation verdicts, kept for unchanged resources; this run's are recorded in it. */
  readonly verdicts?: ValidationVerdicts;
  /** Told of each step and of the resources read, for a run by hand. */
  readonly onProgress?: (message: string) => void;
}

const SAMPLES = 10;

export async function buildReport(sources: AnalyticsSources, options: RunOptions): Promise<AnalyticsReport> {
  const { tenant, asOf } = options;
  const engine = options.engine ?? (sources.index ? 'opensearch' : 'dynamodb');
  const index = sources.index;
  if (engine === 'opensearch' && !index) {
    throw new Error('The OpenSearch path needs a configured index');
  }
  const progress = options.onProgress ?? (() => {});
  const cutoff = Date.parse(asOf);
  const quality = new QualityPass(options.validateUntil, options.verdicts);
  const table = new TableFigures(asOf);
  let read = 0;
  const visit = (resources: readonly Resource[], alsoCount: boolean) => {
    for (const resource of resources) {
      if (resource.meta?.lastUpdated && Date.parse(resource.meta.lastUpdated) > cutoff) {
        continue;
      }
      quality.add(resource);
      if (alsoCount) {
        table.add(resource);
      }
    }
    read += resources.length;
    progress(`resources read and checked: ${read}`);
  };

  let figures: TenantFigures;
  if (engine === 'opensearch' && index) {
    progress('aggregating in OpenSearch');
    figures = await indexFigures(index.client, index.index, tenant, asOf);
    progress('data quality: reading the indexed resources');
    await forEachIndexedResource(index.client, index.index, tenant, asOf, (resources) => visit(resources, false));
  } else {
    progress('reading the tenant through the table (GSI3 by type, BatchGetItem)');
    await forEachTableResource(sources.repository, tenant, (resources) => visit(resources, true));
    figures = table.figures();
  }
  const source: FigureSource = engine;
  const figure = <T>(data: T, from: FigureSource = source, at = asOf): Figure<T> => ({ asOf: at, source: from, data });
  const dataQuality = quality.result();

  progress('API activity from the audit log');
  const activity = await apiActivity(sources.auditLog, tenant, asOf, options.activityDays);

  progress('index health');
  const health = await indexHealth(sources, tenant, engine === 'opensearch' ? figures.resourcesByType : undefined);

  return {
    schema: REPORT_SCHEMA,
    schemaVersion: REPORT_SCHEMA_VERSION,
    tenant,
    runId: options.runId,
    asOf,
    completedAt: new Date().toISOString(),
    engine,
    resourcesByType: figure(figures.resourcesByType),
    growth: figure({ perMonth: figures.updatedPerMonth, perWeek: figures.updatedPerWeek }),
    patientsByAgeGender: figure(figures.patientsByAgeGender),
    encountersByMonth: figure(figures.encountersByMonth),
    topConditions: figure(figures.topConditions),
    topObservationCodes: figure(figures.topObservationCodes),
    dataQuality: figure(dataQuality),
    apiActivity: figure(activity, 'audit-log'),
    indexHealth: figure(health.data, health.source, health.asOf),
  };
}

/**
 * What the index misses: per type, the table's live resources less the index's documents
 * (indexed, as of now, both read now), the degraded documents, and the stream's dead letters.
 */
async function indexHealth(sources: AnalyticsSources, tenant: TenantId, indexed: readonly TypeCount[] | undefined): Promise<{ asOf: string; source: FigureSource; data: IndexHealth }> {
  const asOf = new Date().toISOString();
  const deadLetters = sources.deadLetters ? await sources.deadLetters() : undefined;
  const index = sources.index;
  if (!index || !indexed) {
    return { asOf, source: 'dynamodb', data: deadLetters === undefined ? {} : { deadLetters } };
  }
  const inTable = await tableTypeCounts(sources.repository, tenant);
  const inIndex = new Map(indexed.map(({ resourceType, count }) => [resourceType, count]));
  const notIndexed = [...new Set([...inTable.map((type) => type.resourceType), ...inIndex.keys()])]
    .sort()
    .map((resourceType) => ({ resourceType, count: (inTable.find((type) => type.resourceType === resourceType)?.count ?? 0) - (inIndex.get(resourceType) ?? 0) }))
    .filter(({ count }) => count !== 0);
  let degraded = 0;
  const samples: { resource: string; issues: string[] }[] = [];
  for await (const found of incompletelyIndexed(index.client, index.index, { tenant })) {
    degraded++;
    if (samples.length < SAMPLES) {
      samples.push({ resource: found.ref, issues: found.issues.map((issue) => `${issue.kind}${issue.param ? ` ${issue.param}` : ''}: ${issue.detail}`) });
    }
  }
  return {
    asOf,
    source: 'opensearch',
    data: { notIndexed, incompletelyIndexed: { count: degraded, samples }, ...(deadLetters === undefined ? {} : { deadLetters }) },
  };
}
