/**
 * `npm run bench`: cold start and per-interaction cost of the handlers, measured (no assertions)
 * against DynamoDB Local. Prints the figures as JSON and a short table, then writes the JSON to
 * `.build/bench/results.json`. Progress goes to stderr.
 *
 *   npm run bench -- [--iterations 200] [--warmup 50] [--cold-runs 15] [--invocation-runs 5]
 *                    [--synthea-dir ../shared/data/synthea-r4]
 *                    [--search-scales 1,4] [--search-runs 30] [--search-warmup 5]
 *                    [--search-budget-ms 6000] [--load-concurrency 8]
 *                    [--tx-runs 10] [--tx-warmup 1] [--tx-budget-ms 40000] [--ingest-concurrency 4]
 *                    [--stream-scales 1] [--stream-samples 200] [--stream-search-runs 20]
 *                    [--stream-search-warmup 3] [--stream-search-budget-ms 2000]
 *                    [--audit-events 80000] [--audit-noise 20000] [--load-n 400] [--analytics-scales 1]
 *                    [--skip interactions,bundles,search,transactions,stream,load,analytics]
 *
 * A skipped part keeps its figures from the previous results.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localHandlerEnv, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { ensureLocalTable } from '../local/table.js';
import { SYNTHEA_DIR } from '../load/synthea.js';
import { prepare } from '../prepare.js';
import { BENCH_DIR, type BundleFigures, benchBundles, type FirstInvocationFigures } from './bundles.js';
import { startCapacityProxy } from './capacity-proxy.js';
import { costRows, costTable } from './cost-model.js';
import { type AnalyticsBenchFigures, analyticsReport, benchAnalytics } from './analytics.js';
import { benchLoad } from './load.js';
import { type LoadReport, loadReportTable } from '../load/bounds.js';
import { benchInteractions, type InteractionFigures } from './interactions.js';
import { benchSearch, type SearchFigures } from './search.js';
import { benchStream, type StreamFigures, streamReport } from './stream.js';
import { textTable as table } from './text-table.js';
import { benchTransactions, type TransactionFigures } from './transactions.js';

const TABLE = 'fhir-bench';
/** Interactions replayed in fresh processes against their bundles. */
const FIRST_INVOCATIONS = ['metadata', 'read', 'create'];
/** Cold-import ceilings from the issue, in ms, on a 2-core machine. */
const COLD_IMPORT_TARGETS: Record<string, number> = { read: 150, create: 250 };

const PARTS = ['interactions', 'bundles', 'search', 'transactions', 'stream', 'load', 'analytics'] as const;
type Part = (typeof PARTS)[number];

interface BenchResults {
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpuModel: string };
  readonly bundles?: readonly BundleFigures[];
  readonly firstInvocations?: readonly FirstInvocationFigures[];
  readonly interactions?: readonly InteractionFigures[];
  readonly search?: SearchFigures;
  readonly transactions?: TransactionFigures;
  readonly stream?: StreamFigures;
  readonly load?: LoadReport;
  readonly analytics?: AnalyticsBenchFigures;
}

function benchOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      iterations: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '50' },
      'cold-runs': { type: 'string', default: '15' },
      'invocation-runs': { type: 'string', default: '5' },
      'synthea-dir': { type: 'string', default: SYNTHEA_DIR },
      'search-scales': { type: 'string', default: '1,4' },
      'search-runs': { type: 'string', default: '30' },
      'search-warmup': { type: 'string', default: '5' },
      'search-budget-ms': { type: 'string', default: '6000' },
      'load-concurrency': { type: 'string', default: '8' },
      'tx-runs': { type: 'string', default: '10' },
      'tx-warmup': { type: 'string', default: '1' },
      'tx-budget-ms': { type: 'string', default: '40000' },
      'ingest-concurrency': { type: 'string', default: '4' },
      'stream-scales': { type: 'string', default: '1' },
      'stream-samples': { type: 'string', default: '200' },
      'stream-search-runs': { type: 'string', default: '20' },
      'stream-search-warmup': { type: 'string', default: '3' },
      'stream-search-budget-ms': { type: 'string', default: '2000' },
      'audit-events': { type: 'string', default: '80000' },
      'audit-noise': { type: 'string', default: '20000' },
      'load-n': { type: 'string', default: '400' },
      'analytics-scales': { type: 'string', default: '1' },
      skip: { type: 'string', default: '' },
    },
  });
  const skip = new Set(values.skip.split(',').filter((part) => part !== ''));
  for (const part of skip) {
    if (!PARTS.includes(part as Part)) {
      throw new Error(`--skip takes ${PARTS.join(', ')}; got "${part}"`);
    }
  }
  if (skip.has('interactions') && !skip.has('bundles')) {
    throw new Error('--skip interactions needs --skip bundles too: the bundles part replays the interactions in fresh processes');
  }
  return {
    iterations: count(values.iterations, '--iterations'),
    warmup: count(values.warmup, '--warmup'),
    coldRuns: count(values['cold-runs'], '--cold-runs'),
    invocationRuns: count(values['invocation-runs'], '--invocation-runs'),
    syntheaDir: values['synthea-dir'],
    parts: new Set(PARTS.filter((part) => !skip.has(part))),
    search: {
      syntheaDir: values['synthea-dir'],
      scales: values['search-scales'].split(',').map((scale) => count(scale, '--search-scales')),
      runs: count(values['search-runs'], '--search-runs'),
      warmup: count(values['search-warmup'], '--search-warmup'),
      queryBudgetMs: count(values['search-budget-ms'], '--search-budget-ms'),
      loadConcurrency: count(values['load-concurrency'], '--load-concurrency'),
    },
    transactions: {
      syntheaDir: values['synthea-dir'],
      runs: count(values['tx-runs'], '--tx-runs'),
      warmup: count(values['tx-warmup'], '--tx-warmup'),
      budgetMs: count(values['tx-budget-ms'], '--tx-budget-ms'),
      ingestConcurrency: count(values['ingest-concurrency'], '--ingest-concurrency'),
    },
    load: {
      syntheaDir: values['synthea-dir'],
      n: count(values['load-n'], '--load-n'),
      concurrency: count(values['load-concurrency'], '--load-concurrency'),
      bundleConcurrency: count(values['ingest-concurrency'], '--ingest-concurrency'),
    },
    analytics: {
      syntheaDir: values['synthea-dir'],
      scales: values['analytics-scales'].split(',').map((scale) => count(scale, '--analytics-scales')),
      loadConcurrency: count(values['load-concurrency'], '--load-concurrency'),
    },
    stream: {
      syntheaDir: values['synthea-dir'],
      scales: values['stream-scales'].split(',').map((scale) => count(scale, '--stream-scales')),
      loadConcurrency: count(values['load-concurrency'], '--load-concurrency'),
      samples: count(values['stream-samples'], '--stream-samples'),
      searchRuns: count(values['stream-search-runs'], '--stream-search-runs'),
      searchWarmup: count(values['stream-search-warmup'], '--stream-search-warmup'),
      searchBudgetMs: count(values['stream-search-budget-ms'], '--stream-search-budget-ms'),
      auditEvents: count(values['audit-events'], '--audit-events'),
      auditNoise: count(values['audit-noise'], '--audit-noise'),
    },
  };
}

function count(value: string, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`${flag} must be a positive integer, got "${value}"`);
  }
  return parsed;
}

async function bench(options: ReturnType<typeof benchOptions>): Promise<BenchResults> {
  const { definitionsDir } = await prepare();
  const database = await startDynamoDbLocal();
  // Every handler in this process reaches DynamoDB Local through it, so the interactions are priced by AWS's rules.
  const capacity = await startCapacityProxy(database.endpoint);
  try {
    // The handlers read their configuration from the environment, in this process and in the
    // fresh ones the bundles run in; the bundles cannot find the definitions relative to themselves.
    Object.assign(process.env, localHandlerEnv(capacity.endpoint, TABLE), { FHIR_DEFINITIONS_DIR: definitionsDir });
    await ensureLocalTable(database.endpoint, TABLE);
    const cpu = cpus();
    let results: BenchResults = { machine: { node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown' } };
    if (options.parts.has('interactions')) {
      const { figures: interactions, samples } = await benchInteractions({ ...options, capacity });
      results = { ...results, interactions };
      if (options.parts.has('bundles')) {
        const invocations = new Map(FIRST_INVOCATIONS.map((name) => [name, samples.get(name)!]));
        results = { ...results, ...(await benchBundles({ ...options, invocations })) };
      }
    }
    if (options.parts.has('search')) {
      results = { ...results, search: await benchSearch(options.search) };
    }
    if (options.parts.has('transactions')) {
      results = { ...results, transactions: await benchTransactions(options.transactions) };
    }
    if (options.parts.has('stream')) {
      results = { ...results, stream: await benchStream({ ...options.stream, endpoint: database.endpoint }) };
    }
    if (options.parts.has('load')) {
      results = { ...results, load: await benchLoad(options.load) };
    }
    if (options.parts.has('analytics')) {
      results = { ...results, analytics: await benchAnalytics(options.analytics) };
    }
    return results;
  } finally {
    await capacity.close();
    await database.stop();
  }
}

function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}

function bundlesTable(bundles: readonly BundleFigures[]): string {
  return table([
    ['bundle', 'size', 'gzip', 'import p50', 'min', 'max', 'target', 'largest packages'],
    ...bundles.map((bundle) => [
      bundle.module,
      kilobytes(bundle.bytes),
      kilobytes(bundle.gzipBytes),
      `${bundle.coldImportMs.p50} ms`,
      bundle.coldImportMs.min,
      bundle.coldImportMs.max,
      COLD_IMPORT_TARGETS[bundle.module] === undefined ? '' : `≤ ${COLD_IMPORT_TARGETS[bundle.module]} ms`,
      bundle.largestPackages
        .slice(0, 3)
        .map((share) => `${share.name} ${kilobytes(share.bytes)}`)
        .join(', '),
    ]),
  ]);
}

function firstInvocationsTable(firstInvocations: readonly FirstInvocationFigures[]): string {
  return table([
    ['fresh process', 'import p50', '1st request p50', 'min', 'max', '2nd request p50'],
    ...firstInvocations.map((figures) => [
      `${figures.name} (${figures.module})`,
      `${figures.importMs.p50} ms`,
      `${figures.firstRequestMs.p50} ms`,
      figures.firstRequestMs.min,
      figures.firstRequestMs.max,
      `${figures.secondRequestMs.p50} ms`,
    ]),
  ]);
}

/** `GetItem 1, TransactWriteItems 1`: the DynamoDB calls one interaction made. */
function operationsText(operations: Readonly<Record<string, number>>): string {
  return Object.entries(operations)
    .map(([operation, calls]) => `${operation} ${calls}`)
    .join(', ');
}

function interactionsTable(interactions: readonly InteractionFigures[]): string {
  return table([
    ['interaction', 'route', 'p50 ms', 'p99 ms', 'DynamoDB requests', 'target', 'RCU', 'WCU', 'operations'],
    ...interactions.map((figures) => [
      figures.name,
      figures.route,
      figures.latencyMs.p50,
      figures.latencyMs.p99,
      figures.dynamodb.requests,
      figures.maxRequestsTarget === undefined ? '' : `≤ ${figures.maxRequestsTarget}`,
      figures.dynamodb.readCapacityUnits,
      figures.dynamodb.writeCapacityUnits,
      operationsText(figures.dynamodb.operations),
    ]),
  ]);
}

function loadsTable(search: SearchFigures): string {
  return table([
    ['data set', 'tenant', 'resources', 'load time', 'resources/s'],
    ...search.loads.map((load) => [`×${load.scale}`, load.tenant, load.resources, `${load.seconds} s`, load.resourcesPerSecond]),
  ]);
}

function searchTable(search: SearchFigures): string {
  const scales = search.loads.map((load) => load.scale);
  const [first, last] = [scales[0], scales[scales.length - 1]];
  return table([
    [
      'query',
      ...scales.flatMap((scale) => [`×${scale} status`, 'matches', 'n', 'p50 ms', 'p99 ms', 'requests', 'items', 'RCU']),
      ...(scales.length > 1 ? [`p50 ×${last}/×${first}`, 'items'] : []),
    ],
    ...search.queries.map((query) => [
      query.name,
      ...query.runs.flatMap((run) => [
        run.status,
        `${run.matches ?? '-'}${run.included ? ` +${run.included}` : ''}`,
        run.latencyMs.n,
        run.latencyMs.p50,
        run.latencyMs.p99,
        run.dynamodb.requests,
        run.dynamodb.itemsRead,
        run.dynamodb.readCapacityUnits,
      ]),
      ...(query.growth ? [`${query.growth.p50}×`, `${query.growth.itemsRead}×`] : []),
    ]),
  ]);
}

function searchNotes(search: SearchFigures): string {
  const notes = search.queries.flatMap((query) =>
    query.runs.flatMap((run) => [
      ...(run.diagnostics ? [`${query.name} ×${run.scale}: HTTP ${run.status}: ${run.diagnostics}`] : []),
      ...run.problems.map((problem) => `${query.name} ×${run.scale}: LOOKS WRONG: ${problem}`),
    ]),
  );
  return [...search.queries.map((query) => `${query.name}: GET ${query.path}`), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

function transactionsTable(transactions: TransactionFigures): string {
  return table([
    ['entries', 'n', 'p50 ms', 'p99 ms', 'p50 ms/entry', 'requests', 'RCU', 'WCU', 'requests/entry', 'RCU/entry', 'WCU/entry', 'operations'],
    ...transactions.sizes.map((size) => [
      size.entries,
      size.latencyMs.n,
      size.latencyMs.p50,
      size.latencyMs.p99,
      size.p50PerEntryMs,
      size.dynamodb.requests,
      size.dynamodb.readCapacityUnits,
      size.dynamodb.writeCapacityUnits,
      size.perEntry.requests,
      size.perEntry.readCapacityUnits,
      size.perEntry.writeCapacityUnits,
      operationsText(size.dynamodb.operations),
    ]),
  ]);
}

function ingestTable(transactions: TransactionFigures): string {
  const { ingest } = transactions;
  return [
    table([
      ['tenant', 'in flight', 'Bundles', 'failed', 'resources', 'elapsed', 'resources/s'],
      [ingest.tenant, ingest.concurrency, ingest.bundles, ingest.failedBundles, ingest.resources, `${ingest.seconds} s`, ingest.resourcesPerSecond],
    ]),
    ...ingest.failures.map((failure) => `FAILED: ${failure}`),
  ].join('\n');
}

/** The previous results, whose figures a skipped part keeps. */
async function previousResults(path: string): Promise<Partial<BenchResults>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Partial<BenchResults>;
  } catch {
    return {};
  }
}

const options = benchOptions(process.argv.slice(2));
// The parts write their scratch files here too (the stream part's figures, the bundles).
await mkdir(BENCH_DIR, { recursive: true });
const fresh = await bench(options);
const resultsPath = join(BENCH_DIR, 'results.json');
const results: BenchResults = { ...(await previousResults(resultsPath)), ...fresh };
const json = JSON.stringify(results, null, 2);
console.log(json);
console.log(
  [
    `\nNode ${results.machine.node}, ${results.machine.cpus} × ${results.machine.cpuModel}`,
    ...(fresh.bundles && fresh.firstInvocations
      ? [
          `\nBundles (cold import: ${options.coldRuns} fresh processes each)\n${bundlesTable(fresh.bundles)}`,
          `\nFirst invocation in a fresh process (${options.invocationRuns} each; DynamoDB Local)\n${firstInvocationsTable(fresh.firstInvocations)}`,
        ]
      : []),
    ...(fresh.interactions
      ? [
          `\nInteractions in process (${options.iterations} calls after ${options.warmup} warm-up; handler time, no HTTP; DynamoDB per call, mean)\n${interactionsTable(fresh.interactions)}`,
          `\n${costTable(costRows(fresh.interactions), table)}`,
        ]
      : []),
    ...(fresh.search
      ? [
          `\nSearch data sets (Synthea, PUT /{type}/{id}, ${options.search.loadConcurrency} in flight)\n${loadsTable(fresh.search)}`,
          `\nSearch in process (up to ${options.search.runs} calls after ${options.search.warmup} warm-up, fewer past ${options.search.queryBudgetMs} ms; handler time; DynamoDB per call, mean; matches = Bundle.total +included)\n${searchTable(fresh.search)}`,
          `\n${searchNotes(fresh.search)}`,
        ]
      : []),
    ...(fresh.transactions
      ? [
          `\nTransactions, POST / in process (Prefer: return=minimal; after ${options.transactions.warmup} warm-up, up to ${options.transactions.runs} calls, fewer past ${options.transactions.budgetMs} ms; handler time; DynamoDB per call, mean)\n${transactionsTable(fresh.transactions)}`,
          ...fresh.transactions.sizes.map((size) => `${size.entries} entries: ${size.source}`),
          `\nSynthea ingest (scripts/ingest, ${fresh.transactions.ingest.concurrency} transaction Bundles in flight through the local API)\n${ingestTable(fresh.transactions)}`,
        ]
      : []),
    ...(fresh.stream ? [streamReport(fresh.stream, table)] : []),
    ...(fresh.load ? [`\nThe whole stack (npm start) under the reference load, ${options.load.concurrency} concurrent\n${loadReportTable(fresh.load)}`] : []),
    ...(fresh.analytics ? [analyticsReport(fresh.analytics)] : []),
  ].join('\n'),
);
// Printed first: a failure to write loses no figure.
await writeFile(resultsPath, `${json}\n`);
