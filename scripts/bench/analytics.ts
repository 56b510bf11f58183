/**
 * What one analytics report costs (docs/analytics.md): the Synthea set loaded ×N (each scale in a
 * tenant of its own) into DynamoDB Local through the API and indexed into a local OpenSearch node,
 * then one report per path (`dynamodb`: GSI3 keys + BatchGetItem; `opensearch`: aggregations +
 * `search_after` pages), timed, with the DynamoDB requests and read units and the OpenSearch
 * requests it made; the data-quality pass timed alone, in memory (no I/O), since it bounds the
 * run; and the cost per million resources those figures imply (the model's prices below).
 *
 * The `analytics` part of `npm run bench` (`--analytics-scales 1`), or alone:
 *
 *   npx tsx scripts/bench/analytics.ts [--scales 1,4] [--synthea-dir ../shared/data/synthea-r4] [--load-concurrency 4]
 *
 * DynamoDB Local and a single local node are not AWS: the times are this machine's; the request
 * counts are what AWS would see.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Client } from '@opensearch-project/opensearch';
import { QualityPass } from '../../core/analytics/quality.js';
import { renderHtml } from '../../core/analytics/render.js';
import { buildReport } from '../../core/analytics/run.js';
import { AuditLog } from '../../core/audit/audit-log.js';
import { loadConfig } from '../../core/config.js';
import { openSearchClient } from '../../core/search/opensearch/client.js';
import { ResourceIndexer } from '../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../core/search/opensearch/mapping.js';
import { reindexTable } from '../../core/search/opensearch/reindex.js';
import { createDocumentClient, type DynamoUsage, resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { parseTenantId } from '../../core/tenant.js';
import { ANALYTICS } from '../../functions/routes.js';
import { localHandlerEnv, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { canRunLocalOpenSearch, startLocalOpenSearch } from '../local/opensearch.js';
import { ensureLocalTable } from '../local/table.js';
import { SYNTHEA_DIR, syntheaResources } from '../load/synthea.js';
import { prepare } from '../prepare.js';
import { loadThroughApi } from './search.js';
import { round } from './stats.js';
import { textTable } from './text-table.js';

const TABLE = 'fhir-bench-analytics';
const INDEX = 'fhir-bench-analytics';

/** List prices (us-east-1, on demand) the cost model uses. */
const PRICES = {
  /** DynamoDB on-demand: per read request unit (4 KB strongly consistent). */
  readUnit: 0.125 / 1e6,
  /** Lambda x86: per GB-second. */
  lambdaGbSecond: 0.0000166667,
};

export interface RunFigures {
  readonly engine: 'dynamodb' | 'opensearch';
  readonly seconds: number;
  readonly dynamodb: DynamoUsage;
  readonly openSearchRequests: number;
}

export interface ScaleFigures {
  readonly scale: number;
  readonly resources: number;
  readonly runs: readonly RunFigures[];
  /** The data-quality pass alone, in memory: what bounds a run. */
  readonly qualityMsPerResource: number;
  readonly renderSeconds: number;
}

export interface AnalyticsBenchFigures {
  readonly scales: readonly ScaleFigures[];
  /** From the largest scale. */
  readonly costPerMillion: { readonly from: string; readonly prices: typeof PRICES; readonly memoryMB: number; readonly runs: readonly CostPerMillion[] };
}

export interface CostPerMillion {
  readonly engine: RunFigures['engine'];
  readonly lambdaSeconds: number;
  readonly invocationsOf900s: number;
  readonly lambdaDollars: number;
  readonly dynamoDbRequests: number;
  readonly readUnits: number;
  readonly dynamoDbDollars: number;
  readonly openSearchRequests: number;
}

/** Counts the requests a client sends from now on. */
function countRequests(client: Client): () => number {
  let requests = 0;
  client.on('response', () => requests++);
  return () => requests;
}

export interface AnalyticsBenchOptions {
  readonly scales: readonly number[];
  readonly syntheaDir: string;
  readonly loadConcurrency: number;
}

/**
 * Against the DynamoDB the environment names (the caller's DynamoDB Local), with a local
 * OpenSearch node of its own when Java and Maven are there (else the DynamoDB path alone).
 */
export async function benchAnalytics(options: AnalyticsBenchOptions): Promise<AnalyticsBenchFigures> {
  const node = (await canRunLocalOpenSearch()) ? await startLocalOpenSearch() : undefined;
  try {
    const openSearch = node ? openSearchClient({ url: node.url, index: INDEX, auth: 'none' }, loadConfig().region) : undefined;
    if (openSearch) {
      await ensureIndex(openSearch, INDEX);
    } else {
      console.error('No Java/Maven: the OpenSearch path is not measured');
    }
    const scales = await benchScales({ ...options, openSearch });
    const largest = scales[scales.length - 1]!;
    return { scales, costPerMillion: { from: `×${largest.scale}`, prices: PRICES, memoryMB: ANALYTICS.memoryMB, runs: costPerMillion(largest) } };
  } finally {
    await node?.stop();
  }
}

async function benchScales(options: AnalyticsBenchOptions & { openSearch: Client | undefined }): Promise<ScaleFigures[]> {
  const config = loadConfig();
  const repository = new ResourceRepository(createDocumentClient(config), config.tableName);
  const sources = { repository, auditLog: new AuditLog(repository.client, repository.tableName), ...(options.openSearch ? { index: { client: options.openSearch, index: INDEX } } : {}) };
  const openSearchRequests = options.openSearch ? countRequests(options.openSearch) : () => 0;
  const figures: ScaleFigures[] = [];
  for (const scale of options.scales) {
    const tenant = parseTenantId(`bench-analytics-x${scale}-${randomUUID().slice(0, 8)}`);
    const resources = await syntheaResources(options.syntheaDir, scale);
    console.error(`×${scale}: loading ${resources.length} resources through the API`);
    await loadThroughApi(resources, scale, tenant, options.loadConcurrency);
    if (options.openSearch) {
      console.error(`×${scale}: indexing`);
      await reindexTable({ client: repository.client, tableName: repository.tableName, indexer: new ResourceIndexer(options.openSearch, INDEX), tenant });
      await options.openSearch.indices.refresh({ index: INDEX });
    }
    const runs: RunFigures[] = [];
    let renderSeconds = 0;
    for (const engine of options.openSearch ? (['dynamodb', 'opensearch'] as const) : (['dynamodb'] as const)) {
      console.error(`×${scale}: report on the ${engine} path`);
      resetDynamoUsage();
      const requestsBefore = openSearchRequests();
      const started = performance.now();
      const report = await buildReport(sources, { tenant, runId: randomUUID(), asOf: new Date().toISOString(), activityDays: 30, engine });
      const seconds = (performance.now() - started) / 1000;
      runs.push({ engine, seconds: round(seconds), dynamodb: resetDynamoUsage(), openSearchRequests: openSearchRequests() - requestsBefore });
      const renderStarted = performance.now();
      await renderHtml(report);
      renderSeconds = round((performance.now() - renderStarted) / 1000);
    }
    const quality = new QualityPass();
    const qualityStarted = performance.now();
    resources.forEach((resource) => quality.add(resource));
    figures.push({ scale, resources: resources.length, runs, qualityMsPerResource: round((performance.now() - qualityStarted) / resources.length), renderSeconds });
  }
  return figures;
}

/** One report of a million-resource tenant, scaled linearly from the largest scale measured. */
function costPerMillion(scale: ScaleFigures): CostPerMillion[] {
  const factor = 1e6 / scale.resources;
  const gigabytes = ANALYTICS.memoryMB / 1024;
  return scale.runs.map((run) => {
    const lambdaSeconds = run.seconds * factor;
    return {
      engine: run.engine,
      lambdaSeconds: Math.round(lambdaSeconds),
      invocationsOf900s: round(lambdaSeconds / ANALYTICS.timeoutSeconds),
      lambdaDollars: round(lambdaSeconds * gigabytes * PRICES.lambdaGbSecond),
      dynamoDbRequests: Math.round(run.dynamodb.requests * factor),
      readUnits: Math.round(run.dynamodb.readCapacityUnits * factor),
      dynamoDbDollars: round(run.dynamodb.readCapacityUnits * factor * PRICES.readUnit),
      openSearchRequests: Math.round(run.openSearchRequests * factor),
    };
  });
}

/** The figures as `npm run bench` prints them. */
export function analyticsReport(figures: AnalyticsBenchFigures): string {
  const runs = textTable([
    ['data set', 'resources', 'path', 'run', 'DynamoDB requests', 'read units', 'OpenSearch requests', 'quality pass ms/resource'],
    ...figures.scales.flatMap((scale) =>
      scale.runs.map((run) => [`×${scale.scale}`, scale.resources, run.engine, `${run.seconds} s`, run.dynamodb.requests, run.dynamodb.readCapacityUnits, run.openSearchRequests, scale.qualityMsPerResource]),
    ),
  ]);
  const cost = textTable([
    ['path', 'Lambda s', '× 900 s', 'Lambda $', 'DynamoDB requests', 'read units', 'DynamoDB $', 'OpenSearch requests'],
    ...figures.costPerMillion.runs.map((run) => [run.engine, run.lambdaSeconds, run.invocationsOf900s, run.lambdaDollars, run.dynamoDbRequests, run.readUnits, run.dynamoDbDollars, run.openSearchRequests]),
  ]);
  return `\nAnalytics: one report per path (first runs: every resource validated)\n${runs}\n\nOne report per million resources (linear from ${figures.costPerMillion.from}; ${figures.costPerMillion.memoryMB} MB)\n${cost}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { scales: { type: 'string', default: '1' }, 'synthea-dir': { type: 'string', default: SYNTHEA_DIR }, 'load-concurrency': { type: 'string', default: '4' } },
  });
  // The local API logs every request on stdout, where the figures go.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  await prepare();
  const database = await startDynamoDbLocal();
  try {
    await ensureLocalTable(database.endpoint, TABLE);
    // The API, the repository and the SDK read the emulator's address and dummy credentials from the environment.
    Object.assign(process.env, localHandlerEnv(database.endpoint, TABLE));
    const figures = await benchAnalytics({ scales: values.scales.split(',').map(Number), syntheaDir: values['synthea-dir'], loadConcurrency: Number(values['load-concurrency']) });
    console.log(JSON.stringify(figures, null, 2));
  } finally {
    await database.stop();
  }
}

if (import.meta.main) {
  await main();
}
