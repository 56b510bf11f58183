/**
 * The stream part's measurements (stream.ts explains the part), in a process of its own:
 *
 *   node --import tsx scripts/bench/stream-process.ts '<ChildInput JSON>'
 *
 * The environment is set before any handler is imported or configured; the figures are written
 * to `resultPath`. Handler log lines go to stdout (the parent reads them), progress to stderr.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { AuditEvent, Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { Client } from '@opensearch-project/opensearch';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { auditEvent, newAuditId } from '../../core/audit/audit-event.js';
import { AuditLog } from '../../core/audit/audit-log.js';
import { config } from '../../core/config.js';
import { toOperationOutcome } from '../../core/errors.js';
import { EventPublisher } from '../../core/events/publisher.js';
import { parseSearchRequest } from '../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../core/search/dynamodb/engine.js';
import type { SearchEngine, SearchResult } from '../../core/search/engine.js';
import { openSearchClient } from '../../core/search/opensearch/client.js';
import { OpenSearchEngine } from '../../core/search/opensearch/engine.js';
import { type IndexChange, ResourceIndexer } from '../../core/search/opensearch/indexer.js';
import { ensureIndex, INDEX_SETTINGS } from '../../core/search/opensearch/mapping.js';
import { reindexTable } from '../../core/search/opensearch/reindex.js';
import { answeredByTable } from '../../core/search/router.js';
import type { SearchQuery } from '../../core/search/types.js';
import { createDocumentClient, resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { AUDIT_SHARDS, CURRENT_SK, parseResourcePK } from '../../core/storage/keys.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { parseTenantId, type TenantId } from '../../core/tenant.js';
import { localDynamoDbClient, localHandlerEnv } from '../local/dynamodb-local.js';
import { startLocalApi } from '../local/http-server.js';
import { startLocalMessaging } from '../local/messaging.js';
import { startLocalOpenSearch } from '../local/opensearch.js';
import { startLocalStreamProcessing } from '../local/stream-processing.js';
import type { StreamPoller } from '../local/stream-poller.js';
import { ensureLocalTable } from '../local/table.js';
import { syntheaResources } from '../load/synthea.js';
import { DataIndex, encodePath, loadThroughApi, pickValues, type Picks, QUERIES, type QuerySpec } from './search.js';
import { mean, round, summarize } from './stats.js';
import type {
  AuditFigures,
  AuditQueryFigures,
  ChildInput,
  EngineQueryFigures,
  EngineRun,
  IndexingFigures,
  ReindexFigures,
  SearchableFigures,
  StreamBenchOptions,
  StreamFigures,
} from './stream.js';

const INDEX = 'fhir-bench-stream';
const REINDEX_INDEX = 'fhir-bench-reindex';
/** The poller's default (scripts/local/stream-poller.ts); the part runs it with defaults. */
const POLL_INTERVAL_MS = 200;
const DRAIN_TIMEOUT_MS = 300_000;
const REINDEX_SEGMENTS = 8;
/** Write → searchable: pause between writes, uniform in this range so writes fall at every phase of the poll and refresh cycles. */
const PACING_MS: readonly [number, number] = [50, 250];
const CHECK_INTERVAL_MS = 10;
const SEARCHABLE_TIMEOUT_MS = 15_000;
const MIN_RUNS = 5;
const WARMUP_BUDGET_MS = 1_000;
const AUDIT_DAYS = 30;
const AUDIT_NOISE_TENANTS = 3;
/** AuditEvents per recordMany call: 20 BatchWriteItems in flight. */
const AUDIT_LOAD_SLICE = 500;
/** Runs (after warm-up) of each page query, and of the count, which reads the whole trail. */
const AUDIT_RUNS = { page: 10, count: 3 };
const AUDIT_WARMUP = { page: 2, count: 1 };
const DAY_MS = 86_400_000;

type StreamLambda = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const progress = (message: string) => console.error(`stream: ${message}`);

// ---- instrumentation --------------------------------------------------------------------------

interface Invocation {
  readonly start: number;
  readonly end: number;
  readonly records: number;
  readonly resourceRecords: number;
}

/** What the wrapped handler and the patched processor steps saw; reset per phase. */
class Meter {
  invocations: Invocation[] = [];
  steps = { index: 0, audit: 0, publish: 0 };
  /** `tenant/Type/id` → start of the first invocation with its CURRENT record. */
  readonly handlerStart = new Map<string, number>();
  /** `tenant/Type/id` → when the bulk request holding it returned. */
  readonly indexedAt = new Map<string, number>();
  /** Only the processor's own calls are timed (the audit load and the reindex use the same classes). */
  inHandler = 0;

  reset(): void {
    this.invocations = [];
    this.steps = { index: 0, audit: 0, publish: 0 };
    this.handlerStart.clear();
    this.indexedAt.clear();
  }
}

const meter = new Meter();

function wrapHandler(handler: StreamLambda): StreamLambda {
  return async (event, context) => {
    const start = performance.now();
    let resourceRecords = 0;
    for (const record of event.Records) {
      const pk = record.dynamodb?.Keys?.PK?.S;
      const key = pk === undefined ? undefined : parseResourcePK(pk);
      if (key) {
        resourceRecords++;
        if (record.dynamodb?.Keys?.SK?.S === CURRENT_SK) {
          const ref = `${key.tenant}/${key.resourceType}/${key.id}`;
          if (!meter.handlerStart.has(ref)) {
            meter.handlerStart.set(ref, start);
          }
        }
      }
    }
    meter.inHandler++;
    try {
      return await handler(event, context);
    } finally {
      meter.inHandler--;
      meter.invocations.push({ start, end: performance.now(), records: event.Records.length, resourceRecords });
    }
  };
}

/** Times the processor's three steps by wrapping the classes' methods (one module instance per process). */
function instrumentSteps(): void {
  const timed = <T extends object>(prototype: T, method: keyof T & string, step: keyof Meter['steps'], after?: (args: unknown[]) => void) => {
    const original = prototype[method] as (...args: unknown[]) => Promise<unknown>;
    (prototype as Record<string, unknown>)[method] = async function (this: unknown, ...args: unknown[]) {
      if (meter.inHandler === 0) {
        return original.apply(this, args);
      }
      const started = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        meter.steps[step] += performance.now() - started;
        after?.(args);
      }
    };
  };
  timed(ResourceIndexer.prototype, 'apply', 'index', (args) => {
    const now = performance.now();
    for (const change of args[0] as IndexChange[]) {
      meter.indexedAt.set(`${change.tenant}/${change.resourceType}/${change.id}`, now);
    }
  });
  timed(AuditLog.prototype, 'recordMany', 'audit');
  timed(EventPublisher.prototype, 'publish', 'publish');
}

/** Wall-clock time covered by at least one interval. */
function busyMs(intervals: readonly { start: number; end: number }[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let [from, to] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const { start, end } of sorted) {
    if (start > to) {
      total += to - from > 0 ? to - from : 0;
      [from, to] = [start, end];
    } else {
      to = Math.max(to, end);
    }
  }
  return total + (to - from > 0 ? to - from : 0);
}

// ---- 1. indexing throughput ---------------------------------------------------------------------

async function countIn(client: Client, index: string, tenant: string): Promise<number> {
  const response = await client.count({ index, routing: tenant, body: { query: { term: { tenant } } } } as never);
  return (response.body as { count: number }).count;
}

async function benchIndexing(client: Client, poller: StreamPoller, options: StreamBenchOptions, scale: number, resources: readonly Resource[]): Promise<IndexingFigures> {
  const tenant = `bench-stream-x${scale}`;
  progress(`×${scale}: PUT ${resources.length} resources into tenant ${tenant}, processor running`);
  const before = poller.stats();
  meter.reset();
  const started = performance.now();
  const load = await loadThroughApi(resources, scale, tenant, options.loadConcurrency);
  const written = performance.now();
  await poller.drain(DRAIN_TIMEOUT_MS);
  await client.indices.refresh({ index: INDEX });
  const indexedCount = await countIn(client, INDEX, tenant);
  const indexed = performance.now();
  if (indexedCount !== resources.length) {
    progress(`×${scale}: the index holds ${indexedCount} of ${resources.length} resources after drain and refresh`);
  }
  const after = poller.stats();
  const invocations = meter.invocations;
  const busy = busyMs(invocations) / 1000;
  const records = invocations.reduce((sum, invocation) => sum + invocation.records, 0);
  const indexedSeconds = (indexed - started) / 1000;
  return {
    scale,
    tenant,
    resources: resources.length,
    writeSeconds: load.seconds,
    writesPerSecond: load.resourcesPerSecond,
    indexedSeconds: round(indexedSeconds),
    resourcesPerSecond: round(indexedCount / indexedSeconds),
    lagAfterLastWriteMs: Math.round(indexed - written),
    indexedCount,
    stream: {
      invocations: invocations.length,
      records,
      resourceRecords: invocations.reduce((sum, invocation) => sum + invocation.resourceRecords, 0),
      retries: after.retries - before.retries,
      deadLettered: after.deadLettered - before.deadLettered,
      recordsPerInvocation: summarize(invocations.map((invocation) => invocation.records)),
    },
    handler: {
      busySeconds: round(busy),
      resourcesPerBusySecond: round(resources.length / busy),
      recordsPerBusySecond: round(records / busy),
      invocationMs: summarize(invocations.map((invocation) => invocation.end - invocation.start)),
      stepsSeconds: { index: round(meter.steps.index / 1000), audit: round(meter.steps.audit / 1000), publish: round(meter.steps.publish / 1000) },
    },
  };
}

async function benchReindex(client: Client, expected: number): Promise<ReindexFigures> {
  progress(`reindexTable into a fresh index (${expected} resources expected)`);
  await ensureIndex(client, REINDEX_INDEX);
  const resolved = config();
  const started = performance.now();
  const summary = await reindexTable({
    client: createDocumentClient(resolved),
    tableName: resolved.tableName,
    indexer: new ResourceIndexer(client, REINDEX_INDEX),
    segments: REINDEX_SEGMENTS,
  });
  const seconds = (performance.now() - started) / 1000;
  if (summary.indexed !== expected || summary.failed > 0) {
    progress(`reindex indexed ${summary.indexed} of ${expected}, ${summary.failed} failed: ${summary.failures.slice(0, 3).join('; ')}`);
  }
  await client.indices.delete({ index: REINDEX_INDEX });
  return {
    resources: summary.indexed,
    scannedItems: summary.scannedItems,
    failed: summary.failed,
    seconds: round(seconds),
    resourcesPerSecond: round(summary.indexed / seconds),
    segments: REINDEX_SEGMENTS,
  };
}

// ---- 2. write → searchable ----------------------------------------------------------------------

async function benchSearchable(client: Client, samples: number): Promise<SearchableFigures> {
  const tenant = 'bench-stream-e2e';
  progress(`write → searchable: ${samples} PUTs one at a time into tenant ${tenant}`);
  meter.reset();
  const api = await startLocalApi();
  const pending = new Map<string, number>();
  const acknowledged = new Map<string, number>();
  const found = new Map<string, number>();
  const writeMs: number[] = [];
  let timedOut = 0;
  let writing = true;
  const checker = (async () => {
    while (writing || pending.size > 0) {
      if (pending.size === 0) {
        await sleep(CHECK_INTERVAL_MS);
        continue;
      }
      const refs = [...pending.keys()];
      const sent = performance.now();
      const response = await client.search({
        index: INDEX,
        routing: tenant,
        body: { query: { bool: { filter: [{ term: { tenant } }, { terms: { ref: refs } }] } }, _source: ['ref'], size: refs.length },
      } as never);
      for (const hit of (response.body as { hits: { hits: { _source: { ref: string } }[] } }).hits.hits) {
        if (pending.delete(hit._source.ref)) {
          found.set(hit._source.ref, sent);
        }
      }
      for (const [ref, ack] of pending) {
        if (sent - ack > SEARCHABLE_TIMEOUT_MS) {
          pending.delete(ref);
          timedOut++;
        }
      }
      await sleep(CHECK_INTERVAL_MS);
    }
  })();
  try {
    for (let i = 0; i < samples; i++) {
      const id = `e2e-${i}-${randomUUID().slice(0, 8)}`;
      const patient = { resourceType: 'Patient', id, name: [{ family: 'Searchable', given: [`Sample${i}`] }], gender: 'unknown' };
      const started = performance.now();
      const response = await fetch(`${api.baseUrl}/Patient/${id}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/fhir+json', 'X-Tenant-ID': tenant },
        body: JSON.stringify(patient),
      });
      const body = await response.text();
      const ack = performance.now();
      if (response.status !== 201 && response.status !== 200) {
        throw new Error(`PUT Patient/${id}: HTTP ${response.status}: ${body.slice(0, 1000)}`);
      }
      writeMs.push(ack - started);
      pending.set(`Patient/${id}`, ack);
      acknowledged.set(`Patient/${id}`, ack);
      await sleep(PACING_MS[0] + Math.random() * (PACING_MS[1] - PACING_MS[0]));
    }
  } finally {
    writing = false;
    await checker;
    await api.close();
  }
  const searchable: number[] = [];
  const toHandler: number[] = [];
  const toIndexed: number[] = [];
  const toVisible: number[] = [];
  for (const [ref, at] of found) {
    const ack = acknowledged.get(ref)!;
    searchable.push(at - ack);
    const start = meter.handlerStart.get(`${tenant}/${ref}`);
    const indexed = meter.indexedAt.get(`${tenant}/${ref}`);
    if (start !== undefined && indexed !== undefined) {
      toHandler.push(start - ack);
      toIndexed.push(indexed - start);
      toVisible.push(at - indexed);
    }
  }
  const parts = { toHandlerMs: summarize(toHandler), toIndexedMs: summarize(toIndexed), toVisibleMs: summarize(toVisible) };
  const shares = [
    { name: `waiting for the index refresh (every ${INDEX_SETTINGS.refresh_interval}: ~500 ms on average)`, ms: mean(toVisible) },
    { name: `waiting for the poller (every ${POLL_INTERVAL_MS} ms here; Lambda polls a shard about 4×/s)`, ms: mean(toHandler) },
    { name: 'the handler until its bulk request returned', ms: mean(toIndexed) },
  ].sort((a, b) => b.ms - a.ms);
  const total = shares.reduce((sum, share) => sum + share.ms, 0);
  const dominatedBy = `Mean ${Math.round(total)} ms = ${shares.map((share) => `${Math.round(share.ms)} ms (${Math.round((share.ms / total) * 100)}%) ${share.name}`).join(' + ')}.`;
  return {
    tenant,
    samples,
    found: found.size,
    timedOut,
    writeMs: summarize(writeMs),
    searchableMs: summarize(searchable),
    parts,
    pollIntervalMs: POLL_INTERVAL_MS,
    refreshInterval: INDEX_SETTINGS.refresh_interval,
    checkIntervalMs: CHECK_INTERVAL_MS,
    pacingMs: PACING_MS,
    dominatedBy,
  };
}

// ---- 3. both engines on the search queries ------------------------------------------------------

interface Engines {
  readonly dynamodb: SearchEngine;
  readonly opensearch: SearchEngine;
  /** OpenSearch requests the engine's client sent so far. */
  readonly openSearchRequests: () => number;
}

function engines(): Engines {
  const resolved = config();
  const repository = new ResourceRepository(createDocumentClient(resolved), resolved.tableName);
  const client = openSearchClient(resolved.openSearch!, resolved.region);
  let requests = 0;
  client.on('request', () => {
    requests++;
  });
  return {
    dynamodb: new DynamoSearchEngine(repository, resolved.maxSearchScan),
    opensearch: new OpenSearchEngine(client, resolved.openSearch!.index),
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

async function benchEngines(options: StreamBenchOptions, picks: Picks, dataByScale: ReadonlyMap<number, DataIndex>): Promise<EngineQueryFigures[]> {
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

// ---- 4. audit queries ---------------------------------------------------------------------------

async function benchAudit(options: StreamBenchOptions): Promise<AuditFigures> {
  const resolved = config();
  const log = new AuditLog(createDocumentClient(resolved), resolved.tableName);
  const tenant = parseTenantId('bench-audit');
  const noiseTenants = Array.from({ length: AUDIT_NOISE_TENANTS }, (_, i) => parseTenantId(`bench-audit-noise-${i + 1}`));
  // 30 whole UTC days ending yesterday.
  const firstDay = Math.floor(Date.now() / DAY_MS) * DAY_MS - AUDIT_DAYS * DAY_MS;
  const total = options.auditEvents + options.auditNoise;
  progress(`audit: BatchWrite ${options.auditEvents} events of ${tenant} + ${options.auditNoise} of ${AUDIT_NOISE_TENANTS} other tenants over ${AUDIT_DAYS} days`);
  const started = performance.now();
  let lastReport = started;
  for (let written = 0; written < total; written += AUDIT_LOAD_SLICE) {
    const slice = Array.from({ length: Math.min(AUDIT_LOAD_SLICE, total - written) }, (_, i) => {
      const index = written + i;
      // Exactly auditNoise events of other tenants, spread evenly among the measured tenant's.
      const noise = Math.floor(((index + 1) * options.auditNoise) / total) > Math.floor((index * options.auditNoise) / total);
      const owner = noise ? noiseTenants[index % noiseTenants.length]! : tenant;
      return { tenant: owner, event: syntheticAuditEvent(owner, firstDay + Math.random() * AUDIT_DAYS * DAY_MS) };
    });
    await log.recordMany(slice);
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      progress(`audit: ${written + slice.length} of ${total} written`);
    }
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const events = await log.count(tenant, { from: new Date(firstDay).toISOString(), to: new Date(firstDay + AUDIT_DAYS * DAY_MS - 1).toISOString() });
  const noiseEvents = total - events;

  const range = (fromDay: number, days: number) => ({ from: new Date(firstDay + fromDay * DAY_MS).toISOString(), to: new Date(firstDay + (fromDay + days) * DAY_MS - 1).toISOString() });
  const oneDay = range(14, 1);
  const sevenDays = range(10, 7);
  const allDays = range(0, AUDIT_DAYS);
  const queries: AuditQueryFigures[] = [
    await timeAudit('first page (100), 1-day range', oneDay, 'page', async () => (await log.query(tenant, oneDay, { limit: 100 })).events.length),
    await timeAudit('first page (100), 7-day range', sevenDays, 'page', async () => (await log.query(tenant, sevenDays, { limit: 100 })).events.length),
    await timeAudit(`count, ${AUDIT_DAYS}-day range`, allDays, 'count', () => log.count(tenant, allDays)),
  ];
  const perShardDay = Math.round(events / AUDIT_DAYS / AUDIT_SHARDS);
  return {
    tenant,
    events,
    noiseEvents,
    noiseTenants: AUDIT_NOISE_TENANTS,
    days: AUDIT_DAYS,
    shards: AUDIT_SHARDS,
    loadSeconds: round(loadSeconds),
    eventsPerSecond: round(total / loadSeconds),
    queries,
    note:
      `Extrapolation: a query touches (days in range) × ${AUDIT_SHARDS} shard partitions of this tenant only (other tenants and table size never enter); ` +
      `a page asks every shard of up to 8 days at once for up to 100 events each, so it reads ≈ min(events in range, days-in-window × ${AUDIT_SHARDS} × 100) items ` +
      `(here ≈ ${perShardDay} events per shard-day) and its latency follows the parallel rounds, not the trail's size; count reads every key in range, ` +
      `so its keys read and RCU grow linearly with the tenant's events in range (about ${Math.round(events / AUDIT_DAYS)} a day here).`,
  };
}

function syntheticAuditEvent(tenant: TenantId, at: number): AuditEvent {
  const read = Math.random() < 0.7;
  return auditEvent({
    id: newAuditId(),
    tenant,
    interaction: read ? 'read' : 'update',
    recorded: new Date(at).toISOString(),
    status: 200,
    principal: `user-${Math.floor(Math.random() * 50)}`,
    entities: [`Patient/${randomUUID()}/_history/${1 + Math.floor(Math.random() * 5)}`],
    sourceAddress: '203.0.113.7',
  });
}

/** A count (Select COUNT) returns no items: the keys it reads are the count itself. */
async function timeAudit(name: string, range: { from: string; to: string }, kind: 'page' | 'count', run: () => Promise<number>): Promise<AuditQueryFigures> {
  progress(`audit: ${name}`);
  for (let i = 0; i < AUDIT_WARMUP[kind]; i++) {
    await run();
  }
  const samples: { ms: number; returned: number; requests: number; itemsRead: number; rcu: number }[] = [];
  for (let i = 0; i < AUDIT_RUNS[kind]; i++) {
    resetDynamoUsage();
    const started = performance.now();
    const returned = await run();
    const ms = performance.now() - started;
    const usage = resetDynamoUsage();
    samples.push({ ms, returned, requests: usage.requests, itemsRead: kind === 'count' ? returned : usage.itemsRead, rcu: usage.readCapacityUnits });
  }
  const last = samples[samples.length - 1]!;
  return {
    name,
    ...range,
    returned: last.returned,
    latencyMs: summarize(samples.map((sample) => sample.ms)),
    requests: round(mean(samples.map((sample) => sample.requests))),
    itemsRead: round(mean(samples.map((sample) => sample.itemsRead))),
    readCapacityUnits: round(mean(samples.map((sample) => sample.rcu))),
  };
}

// ---- the run ------------------------------------------------------------------------------------

async function main(input: ChildInput): Promise<Omit<StreamFigures, 'log'>> {
  const { options, endpoint } = input;
  const started = performance.now();
  const table = `fhir-bench-stream-${Date.now()}`;
  progress('starting a local OpenSearch node and fauxqs');
  const [openSearch, messaging] = await Promise.all([startLocalOpenSearch(), startLocalMessaging()]);
  const openSearchStartSeconds = round((performance.now() - started) / 1000);
  let poller: StreamPoller | undefined;
  try {
    // Before any handler resolves its configuration (core/config.ts caches it per process).
    Object.assign(process.env, localHandlerEnv(endpoint, table), messaging.env, { OPENSEARCH_URL: openSearch.url, OPENSEARCH_INDEX: INDEX });
    await ensureLocalTable(endpoint, table);
    const client = openSearchClient(config().openSearch!, config().region);
    await ensureIndex(client, INDEX);
    instrumentSteps();
    const { handler } = (await import('../../functions/stream-processor.js')) as { handler: StreamLambda };
    poller = await startLocalStreamProcessing({ endpoint, tableName: table, handler: wrapHandler(handler) });

    const dataByScale = new Map<number, DataIndex>();
    const indexing: IndexingFigures[] = [];
    let picks: Picks | undefined;
    for (const scale of options.scales) {
      const resources = await syntheaResources(options.syntheaDir, scale);
      picks ??= pickValues(await syntheaResources(options.syntheaDir, 1));
      dataByScale.set(scale, new DataIndex(resources));
      indexing.push(await benchIndexing(client, poller, options, scale, resources));
    }
    const reindex = await benchReindex(
      client,
      indexing.reduce((sum, figures) => sum + figures.resources, 0),
    );
    const searchable = await benchSearchable(client, options.samples);
    await poller.drain(DRAIN_TIMEOUT_MS);
    await poller.stop();
    poller = undefined;

    const search = await benchEngines(options, picks!, dataByScale);
    const audit = await benchAudit(options);
    return { openSearchStartSeconds, indexing, reindex, searchable, search, audit, seconds: round((performance.now() - started) / 1000) };
  } finally {
    await poller?.stop();
    const dynamodb = localDynamoDbClient(endpoint);
    await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    dynamodb.destroy();
    await Promise.all([openSearch.stop(), messaging.stop()]);
  }
}

const input = JSON.parse(process.argv[2] ?? '') as ChildInput;
try {
  const figures = await main(input);
  await writeFile(input.resultPath, JSON.stringify(figures));
  // Keep-alive sockets of the SDK clients would hold the process open.
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
