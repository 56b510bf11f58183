/**
 * Part 5: the stream side, on this machine: DynamoDB Local's stream read by the local poller into
 * the real stream-processor handler, a local OpenSearch node (scripts/local/opensearch.ts) and SNS
 * on fauxqs (scripts/local/messaging.ts).
 *
 * 1. Indexing throughput: the Synthea data PUT through the local API into a fresh table while the
 *    processor runs, from the first write until the index holds every resource (drain, refresh,
 *    count); the handler's own busy time; then `reindexTable` into a second index.
 * 2. Write → searchable: one PUT at a time, an OpenSearch query for it until it is found.
 * 3. The search benchmark's queries (search.ts) on the DynamoDB and the OpenSearch engine, both in
 *    process over the same data.
 * 4. Audit queries: a tenant's AuditEvents over 30 days (plus other tenants'), first pages and a
 *    count.
 *
 * The handlers resolve their configuration (table, OPENSEARCH_URL, topics) once per process, and
 * the other parts have resolved it already without OpenSearch, so this part runs in a child
 * process (stream-process.ts) with the environment set before any handler loads. It shares the
 * parent's DynamoDB Local (its own table). The child's stdout carries the handlers' log lines; it
 * is read here for warnings and errors only. Progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunLocalOpenSearch } from '../local/opensearch.js';
import { BENCH_DIR } from './bundles.js';
import type { Summary } from './stats.js';

export interface StreamBenchOptions {
  readonly syntheaDir: string;
  /** Synthea copies loaded (each in its own tenant, each timed for indexing) and searched; the first is the reference. */
  readonly scales: readonly number[];
  /** PUTs in flight while loading. */
  readonly loadConcurrency: number;
  /** Writes timed until searchable. */
  readonly samples: number;
  readonly searchRuns: number;
  readonly searchWarmup: number;
  /** Measuring one query on one engine stops early (after at least 5 runs) past this. */
  readonly searchBudgetMs: number;
  /** AuditEvents of the measured tenant, spread over 30 days. */
  readonly auditEvents: number;
  /** AuditEvents of other tenants, same days. */
  readonly auditNoise: number;
}

export interface ChildInput {
  readonly options: StreamBenchOptions;
  /** The parent's DynamoDB Local. */
  readonly endpoint: string;
  readonly resultPath: string;
}

export interface IndexingFigures {
  readonly scale: number;
  readonly tenant: string;
  readonly resources: number;
  /** First PUT sent → last PUT answered. */
  readonly writeSeconds: number;
  readonly writesPerSecond: number;
  /** First PUT sent → the index counts every resource (drain, refresh, count). */
  readonly indexedSeconds: number;
  readonly resourcesPerSecond: number;
  /** Last PUT answered → the index counts every resource. */
  readonly lagAfterLastWriteMs: number;
  readonly indexedCount: number;
  readonly stream: {
    readonly invocations: number;
    readonly records: number;
    /** Records whose key is a resource's partition (versions, current items, lookups); the rest are audit and transaction items. */
    readonly resourceRecords: number;
    readonly retries: number;
    readonly deadLettered: number;
    readonly recordsPerInvocation: Summary;
  };
  readonly handler: {
    /** Wall-clock time with at least one invocation running (shards run concurrently). */
    readonly busySeconds: number;
    /** Resources over busy time: the rate the processor alone could sustain on this machine, sharing the CPUs with the API and both emulators. */
    readonly resourcesPerBusySecond: number;
    readonly recordsPerBusySecond: number;
    readonly invocationMs: Summary;
    /** Time summed over invocations in each step of core/stream/processor.ts (bulk index, audit BatchWrite, SNS PublishBatch). */
    readonly stepsSeconds: { readonly index: number; readonly audit: number; readonly publish: number };
  };
}

export interface ReindexFigures {
  readonly resources: number;
  readonly scannedItems: number;
  readonly failed: number;
  readonly seconds: number;
  readonly resourcesPerSecond: number;
  readonly segments: number;
}

export interface SearchableFigures {
  readonly tenant: string;
  readonly samples: number;
  readonly found: number;
  readonly timedOut: number;
  /** PUT round trip through the local API. */
  readonly writeMs: Summary;
  /** PUT answered → first OpenSearch query that finds it. */
  readonly searchableMs: Summary;
  /** Where that time goes, per sample. */
  readonly parts: {
    /** PUT answered → the handler invocation holding its first stream record starts: the poll interval. */
    readonly toHandlerMs: Summary;
    /** Invocation start → its bulk request returned (the document is in the index, not yet visible). */
    readonly toIndexedMs: Summary;
    /** Bulk returned → found: the index refresh interval. */
    readonly toVisibleMs: Summary;
  };
  readonly pollIntervalMs: number;
  readonly refreshInterval: string;
  /** How often the checker queries (after each answer). */
  readonly checkIntervalMs: number;
  readonly pacingMs: readonly [number, number];
  readonly dominatedBy: string;
}

export interface EngineRun {
  readonly status: number;
  readonly matches?: number;
  readonly included?: number;
  readonly diagnostics?: string;
  readonly latencyMs: Summary;
  /** Per call, mean. */
  readonly requests: number;
  /** DynamoDB engine: items read per call, mean. */
  readonly itemsRead?: number;
  readonly readCapacityUnits?: number;
}

export interface EngineQueryFigures {
  readonly name: string;
  readonly path: string;
  /** What core/search/router.ts sends this query to when OpenSearch is configured. */
  readonly routedTo: 'table' | 'index';
  readonly runs: readonly {
    readonly scale: number;
    readonly dynamodb: EngineRun;
    readonly opensearch: EngineRun;
    readonly expectedMatches?: number;
    readonly problems: readonly string[];
  }[];
}

export interface AuditQueryFigures {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Events on the page, or the count. */
  readonly returned: number;
  readonly latencyMs: Summary;
  readonly requests: number;
  readonly itemsRead: number;
  readonly readCapacityUnits: number;
}

export interface AuditFigures {
  readonly tenant: string;
  readonly events: number;
  readonly noiseEvents: number;
  readonly noiseTenants: number;
  readonly days: number;
  readonly shards: number;
  readonly loadSeconds: number;
  readonly eventsPerSecond: number;
  readonly queries: readonly AuditQueryFigures[];
  readonly note: string;
}

export interface StreamFigures {
  readonly openSearchStartSeconds: number;
  readonly indexing: readonly IndexingFigures[];
  readonly reindex?: ReindexFigures;
  readonly searchable: SearchableFigures;
  readonly search: readonly EngineQueryFigures[];
  readonly audit: AuditFigures;
  /** WARN/ERROR lines the handlers logged in the child, counted, with the first few. */
  readonly log: { readonly warnings: number; readonly errors: number; readonly samples: readonly string[] };
  readonly seconds: number;
}

const CHILD = fileURLToPath(new URL('./stream-process.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 20 * 60_000;
const STDOUT_TAIL_CHARS = 8_000;
const LOG_SAMPLES = 5;

export async function benchStream(options: StreamBenchOptions & { readonly endpoint: string }): Promise<StreamFigures> {
  if (!(await canRunLocalOpenSearch())) {
    throw new Error('The stream part needs a local OpenSearch node (java, and mvn for the first download); leave it out with --skip stream');
  }
  const resultPath = join(BENCH_DIR, 'stream-child.json');
  await rm(resultPath, { force: true });
  const input: ChildInput = { options, endpoint: options.endpoint, resultPath };
  const log = await runChild(input);
  const figures = JSON.parse(await readFile(resultPath, 'utf8')) as Omit<StreamFigures, 'log'>;
  await rm(resultPath, { force: true });
  return { ...figures, log };
}

/** Runs stream-process.ts under tsx; resolves with the WARN/ERROR lines of its stdout. */
function runChild(input: ChildInput): Promise<StreamFigures['log']> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    const log = { warnings: 0, errors: 0, samples: [] as string[] };
    let tail = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const level = /"level":"(WARN|ERROR|CRITICAL)"/.exec(line)?.[1];
        if (level) {
          log[level === 'WARN' ? 'warnings' : 'errors'] += 1;
          if (log.samples.length < LOG_SAMPLES) {
            log.samples.push(line.slice(0, 600));
          }
        }
      }
      tail = (tail + chunk.toString('utf8')).slice(-STDOUT_TAIL_CHARS);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(log);
      } else {
        reject(new Error(`The stream benchmark process failed (code ${code}, signal ${signal}); its last output:\n${tail}`));
      }
    });
  });
}

// ---- printing -------------------------------------------------------------------------------

type Table = (rows: readonly (readonly (string | number)[])[]) => string;

export function streamReport(stream: StreamFigures, table: Table): string {
  const lines: string[] = [];
  lines.push(
    `\nStream indexing (Synthea PUT through the local API while the stream processor runs: first write → the index counts them all; handler busy = wall-clock time with an invocation running; OpenSearch node started in ${stream.openSearchStartSeconds} s)`,
    table([
      ['data set', 'resources', 'writes', 'writes/s', 'indexed after', 'resources/s', 'lag after last write', 'invocations', 'records', 'records/inv p50', 'handler busy', 'resources/busy s', 'index / audit / publish (summed)', 'retries', 'dead-lettered'],
      ...stream.indexing.map((figures) => [
        `×${figures.scale}`,
        figures.resources,
        `${figures.writeSeconds} s`,
        figures.writesPerSecond,
        `${figures.indexedSeconds} s`,
        figures.resourcesPerSecond,
        `${figures.lagAfterLastWriteMs} ms`,
        figures.stream.invocations,
        figures.stream.records,
        figures.stream.recordsPerInvocation.p50,
        `${figures.handler.busySeconds} s`,
        figures.handler.resourcesPerBusySecond,
        `${figures.handler.stepsSeconds.index} / ${figures.handler.stepsSeconds.audit} / ${figures.handler.stepsSeconds.publish} s`,
        figures.stream.retries,
        figures.stream.deadLettered,
      ]),
    ]),
  );
  if (stream.reindex) {
    const r = stream.reindex;
    lines.push(
      `Reindex (reindexTable, ${r.segments} Scan segments, into a fresh index): ${r.resources} resources (${r.scannedItems} items scanned, ${r.failed} failed) in ${r.seconds} s = ${r.resourcesPerSecond} resources/s`,
    );
  } else {
    lines.push('Reindex: no reindex function (core/search/opensearch/reindex.ts) to measure');
  }
  const s = stream.searchable;
  lines.push(
    `\nWrite → searchable in OpenSearch (${s.samples} PUTs one at a time, ${s.pacingMs[0]}–${s.pacingMs[1]} ms apart; poller interval ${s.pollIntervalMs} ms, index refresh ${s.refreshInterval}; checked every ${s.checkIntervalMs} ms)`,
    table([
      ['', 'n', 'p50 ms', 'p99 ms', 'min', 'max'],
      ...(
        [
          ['PUT (write)', s.writeMs],
          ['write answered → searchable', s.searchableMs],
          ['  → handler starts (poll)', s.parts.toHandlerMs],
          ['  → bulk indexed', s.parts.toIndexedMs],
          ['  → visible (refresh)', s.parts.toVisibleMs],
        ] as const
      ).map(([name, summary]) => [name, summary.n, summary.p50, summary.p99, summary.min, summary.max]),
    ]),
    `found ${s.found}/${s.samples}${s.timedOut > 0 ? `, ${s.timedOut} TIMED OUT` : ''}. Timed from the PUT's answer (a part below 0: the poller or a refresh got there before the answer reached the client). ${s.dominatedBy}`,
  );
  const scales = stream.search[0]?.runs.map((run) => run.scale) ?? [];
  lines.push(
    '\nSearch engines in process, same data and queries as the search part (engine time: no handler, no audit write; DynamoDB items read and OpenSearch requests per call, mean; ratio = DynamoDB p50 / OpenSearch p50; routed to = the engine core/search/router.ts picks)',
    table([
      ['query', 'routed to', ...scales.flatMap((scale) => [`×${scale} matches`, 'DynamoDB p50', 'p99', 'items', 'OpenSearch p50', 'p99', 'requests', 'p50 ratio'])],
      ...stream.search.map((query) => [
        query.name,
        query.routedTo,
        ...query.runs.flatMap((run) => [
          `${matchesText(run.dynamodb)}${matchesText(run.opensearch) === matchesText(run.dynamodb) ? '' : ` / OS ${matchesText(run.opensearch)}`}`,
          run.dynamodb.latencyMs.p50,
          run.dynamodb.latencyMs.p99,
          run.dynamodb.itemsRead ?? '',
          run.opensearch.latencyMs.p50,
          run.opensearch.latencyMs.p99,
          run.opensearch.requests,
          `${ratio(run.dynamodb.latencyMs.p50, run.opensearch.latencyMs.p50)}×`,
        ]),
      ]),
    ]),
  );
  const problems = stream.search.flatMap((query) => query.runs.flatMap((run) => run.problems.map((problem) => `${query.name} ×${run.scale}: LOOKS WRONG: ${problem}`)));
  const refusals = stream.search.flatMap((query) =>
    query.runs.flatMap((run) =>
      (
        [
          ['DynamoDB', run.dynamodb],
          ['OpenSearch', run.opensearch],
        ] as const
      ).flatMap(([engine, figures]) => (figures.diagnostics ? [`${query.name} ×${run.scale} ${engine}: HTTP ${figures.status}: ${figures.diagnostics}`] : [])),
    ),
  );
  lines.push(...refusals, ...problems);
  const a = stream.audit;
  lines.push(
    `\nAudit queries (${a.events} events of one tenant over ${a.days} days + ${a.noiseEvents} of ${a.noiseTenants} other tenants, BatchWrite-loaded in ${a.loadSeconds} s = ${a.eventsPerSecond}/s; ${a.shards} shards per tenant-day)`,
    table([
      ['query', 'returned', 'n', 'p50 ms', 'p99 ms', 'requests', 'items (count: keys) read', 'RCU'],
      ...a.queries.map((query) => [query.name, query.returned, query.latencyMs.n, query.latencyMs.p50, query.latencyMs.p99, query.requests, query.itemsRead, query.readCapacityUnits]),
    ]),
    a.note,
  );
  if (stream.log.errors > 0 || stream.log.warnings > 0) {
    lines.push(`\nHandlers logged ${stream.log.errors} errors and ${stream.log.warnings} warnings, e.g.:`, ...stream.log.samples);
  }
  lines.push(`\nStream part: ${stream.seconds} s in all`);
  return lines.join('\n');
}

function matchesText(run: EngineRun): string {
  return run.status === 200 ? `${run.matches ?? '-'}${run.included ? ` +${run.included}` : ''}` : `HTTP ${run.status}`;
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 10) / 10;
}
