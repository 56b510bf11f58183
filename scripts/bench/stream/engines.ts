/** 3. The search benchmark's queries (search.ts) on the DynamoDB and the OpenSearch engine, both in process over the same data, checked against each other. */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { config } from '../../../core/config.js';
import { toOperationOutcome } from '../../../core/errors.js';
import { parseSearchRequest } from '../../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../../core/search/dynamodb/engine.js';
import type { SearchEngine, SearchResult } from '../../../core/search/engine.js';
import { openSearchClient } from '../../../core/search/opensearch/client.js';
import { answeredByTable } from '../../../core/search/router.js';
import type { SearchQuery } from '../../../core/search/types.js';
import { resetDynamoUsage } from '../../../core/storage/dynamo-client.js';
import { parseTenantId, type TenantId } from '../../../core/tenant.js';
import { Components } from '../../../core/wiring.js';
import { type DataIndex, encodePath, type Picks, QUERIES, type QuerySpec } from '../search.js';
import { mean, round, summarize } from '../stats.js';
import type { EngineQueryFigures, EngineRun, StreamBenchOptions } from '../stream.js';
import { progress } from './setup.js';

const MIN_RUNS = 5;
const WARMUP_BUDGET_MS = 1_000;

interface Engines {
  readonly dynamodb: SearchEngine;
  readonly opensearch: SearchEngine;
  /** OpenSearch requests the engine's client sent so far. */
  readonly openSearchRequests: () => number;
}

function engines(): Engines {
  let requests = 0;
  const components = new Components(config(), {
    openSearchClient: (index, region) => {
      const client = openSearchClient(index, region);
      client.on('request', () => {
        requests++;
      });
      return client;
    },
  });
  return {
    dynamodb: components.tableSearch,
    opensearch: components.indexSearch!,
    openSearchRequests: () => requests,
  };
}

/** The query of a request path, parsed as the search handler parses it. */
function parsedQuery(path: string): SearchQuery {
  const resolved = config();
  const url = new URL(encodePath(path), 'http://bench.local');
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    (parameters[name] ??= []).push(value);
  }
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const common = { parameters, strict: false, defaultCount: resolved.defaultPageSize, maxCount: resolved.maxPageSize };
  return parseSearchRequest(
    segments.length === 3 ? { ...common, resourceType: segments[2], compartment: { resourceType: segments[0]!, id: segments[1]! } } : { ...common, resourceType: segments[0] },
  );
}

interface Call {
  readonly ms: number;
  readonly result?: SearchResult;
  readonly status: number;
  readonly diagnostics?: string;
  readonly requests: number;
  readonly itemsRead: number;
  readonly readCapacityUnits: number;
}

async function call(engine: SearchEngine, tenant: TenantId, query: SearchQuery, openSearchRequests: () => number): Promise<Call> {
  resetDynamoUsage();
  const requestsBefore = openSearchRequests();
  const started = performance.now();
  let result: SearchResult | undefined;
  let status = 200;
  let diagnostics: string | undefined;
  try {
    result = await engine.search(tenant, query);
  } catch (error) {
    const outcome = toOperationOutcome(error);
    status = outcome.status;
    diagnostics = outcome.outcome.issue?.map((issue) => issue.diagnostics ?? issue.code).join('; ');
    if (status >= 500) {
      diagnostics = `${diagnostics} (${(error as Error).message}; cause: ${String((error as { cause?: unknown }).cause).slice(0, 300)})`;
    }
  }
  const ms = performance.now() - started;
  const usage = resetDynamoUsage();
  const osRequests = openSearchRequests() - requestsBefore;
  return { ms, result, status, diagnostics, requests: usage.requests + osRequests, itemsRead: usage.itemsRead, readCapacityUnits: usage.readCapacityUnits };
}

async function measure(engine: SearchEngine, tenant: TenantId, query: SearchQuery, options: StreamBenchOptions, openSearchRequests: () => number): Promise<{ run: EngineRun; last: Call }> {
  const warmupStarted = performance.now();
  for (let i = 0; i < options.searchWarmup && (i === 0 || performance.now() - warmupStarted < WARMUP_BUDGET_MS); i++) {
    await call(engine, tenant, query, openSearchRequests);
  }
  const calls: Call[] = [];
  const started = performance.now();
  while (calls.length < options.searchRuns && (calls.length < MIN_RUNS || performance.now() - started < options.searchBudgetMs)) {
    calls.push(await call(engine, tenant, query, openSearchRequests));
  }
  const last = calls[calls.length - 1]!;
  return {
    last,
    run: {
      status: last.status,
      ...(last.result ? { matches: last.result.total ?? last.result.matches.length, included: last.result.included.length } : {}),
      ...(last.diagnostics ? { diagnostics: last.diagnostics } : {}),
      latencyMs: summarize(calls.map((c) => c.ms)),
      requests: round(mean(calls.map((c) => c.requests))),
      ...(engine instanceof DynamoSearchEngine
        ? { itemsRead: round(mean(calls.map((c) => c.itemsRead))), readCapacityUnits: round(mean(calls.map((c) => c.readCapacityUnits))) }
        : {}),
    },
  };
}

/** The engine's answer as the searchset Bundle the handler would build, for the search part's checks. */
function asBundle(result: SearchResult): Bundle {
  const entry = (mode: 'match' | 'include') => (resource: Resource): BundleEntry => ({ resource, search: { mode } });
  return { resourceType: 'Bundle', type: 'searchset', total: result.total, entry: [...result.matches.map(entry('match')), ...result.included.map(entry('include'))] };
}

function refs(resources: readonly Resource[]): string {
  return resources.map((resource) => `${resource.resourceType}/${resource.id}`).join(',');
}

function problemsOf(spec: QuerySpec, picks: Picks, data: DataIndex, dynamodb: Call, opensearch: Call, expected: number | undefined): string[] {
  const problems: string[] = [];
  for (const [engine, c] of [
    ['DynamoDB', dynamodb],
    ['OpenSearch', opensearch],
  ] as const) {
    if (!c.result) {
      if (c.status !== 400) {
        problems.push(`${engine}: HTTP ${c.status}`);
      }
      continue;
    }
    const matches = c.result.total ?? c.result.matches.length;
    if (expected !== undefined && matches !== expected) {
      problems.push(`${engine}: ${matches} matches, the data has ${expected}`);
    }
    const problem = spec.verify?.(asBundle(c.result), data, picks);
    if (problem) {
      problems.push(`${engine}: ${problem}`);
    }
  }
  if (dynamodb.result && opensearch.result) {
    const [a, b] = [dynamodb.result, opensearch.result];
    // The table omits the total of a plain listing (`_total=estimate`): not a disagreement.
    if (a.total !== undefined && b.total !== undefined && a.total !== b.total) {
      problems.push(`totals differ: DynamoDB ${a.total}, OpenSearch ${b.total}`);
    }
    if (refs(a.matches) !== refs(b.matches)) {
      problems.push('the engines return different pages (resources or order)');
    }
    if (refs([...a.included].sort(byRef)) !== refs([...b.included].sort(byRef))) {
      problems.push(`included differ: DynamoDB ${a.included.length}, OpenSearch ${b.included.length}`);
    }
  } else if (dynamodb.status !== opensearch.status && Math.max(dynamodb.status, opensearch.status) >= 500) {
    // A 400 refusal (too costly for one engine) is an outcome, listed with its diagnostics.
    problems.push(`statuses differ: DynamoDB ${dynamodb.status}, OpenSearch ${opensearch.status}`);
  }
  return problems;
}

function byRef(a: Resource, b: Resource): number {
  const [x, y] = [`${a.resourceType}/${a.id}`, `${b.resourceType}/${b.id}`];
  return x < y ? -1 : x > y ? 1 : 0;
}

export async function benchEngines(options: StreamBenchOptions, picks: Picks, dataByScale: ReadonlyMap<number, DataIndex>): Promise<EngineQueryFigures[]> {
  const both = engines();
  const figures: EngineQueryFigures[] = [];
  for (const spec of QUERIES) {
    const path = spec.path(picks);
    const query = parsedQuery(path);
    const runs: EngineQueryFigures['runs'][number][] = [];
    for (const scale of options.scales) {
      progress(`search ×${scale}: ${spec.name}`);
      const tenant = parseTenantId(`bench-stream-x${scale}`);
      const data = dataByScale.get(scale)!;
      const dynamodb = await measure(both.dynamodb, tenant, query, options, both.openSearchRequests);
      const opensearch = await measure(both.opensearch, tenant, query, options, both.openSearchRequests);
      const expected = spec.expected?.(data, picks);
      runs.push({
        scale,
        dynamodb: dynamodb.run,
        opensearch: opensearch.run,
        ...(expected === undefined ? {} : { expectedMatches: expected }),
        problems: problemsOf(spec, picks, data, dynamodb.last, opensearch.last, expected),
      });
    }
    figures.push({ name: spec.name, path, routedTo: answeredByTable(query) ? 'table' : 'index', runs });
  }
  return figures;
}
