/**
 * `npm run bench`: cold start and per-interaction cost of the handlers, measured (no assertions)
 * against DynamoDB Local. Prints the figures as JSON, also written to `.build/bench/results.json`,
 * then a short table. Progress goes to stderr.
 *
 *   npm run bench -- [--iterations 200] [--warmup 50] [--cold-runs 15] [--invocation-runs 5]
 *                    [--synthea-dir /work/shared/data/synthea-r4]
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localHandlerEnv, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { ensureLocalTable } from '../local/table.js';
import { prepare } from '../prepare.js';
import { BENCH_DIR, type BundleFigures, benchBundles, type FirstInvocationFigures } from './bundles.js';
import { benchInteractions, type InteractionFigures } from './interactions.js';

const TABLE = 'fhir-bench';
/** Interactions replayed in fresh processes against their bundles. */
const FIRST_INVOCATIONS = ['metadata', 'read', 'create'];
/** Cold-import ceilings from the issue, in ms, on a 2-core machine. */
const COLD_IMPORT_TARGETS: Record<string, number> = { read: 150, create: 250 };

interface BenchResults {
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpuModel: string };
  readonly bundles: readonly BundleFigures[];
  readonly firstInvocations: readonly FirstInvocationFigures[];
  readonly interactions: readonly InteractionFigures[];
}

function benchOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      iterations: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '50' },
      'cold-runs': { type: 'string', default: '15' },
      'invocation-runs': { type: 'string', default: '5' },
      'synthea-dir': { type: 'string', default: '/work/shared/data/synthea-r4' },
    },
  });
  return {
    iterations: count(values.iterations, '--iterations'),
    warmup: count(values.warmup, '--warmup'),
    coldRuns: count(values['cold-runs'], '--cold-runs'),
    invocationRuns: count(values['invocation-runs'], '--invocation-runs'),
    syntheaDir: values['synthea-dir'],
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
  try {
    // The handlers read their configuration from the environment, in this process and in the
    // fresh ones the bundles run in; the bundles cannot find the definitions relative to themselves.
    Object.assign(process.env, localHandlerEnv(database.endpoint, TABLE), { FHIR_DEFINITIONS_DIR: definitionsDir });
    await ensureLocalTable(database.endpoint, TABLE);
    const { figures: interactions, samples } = await benchInteractions(options);
    const invocations = new Map(FIRST_INVOCATIONS.map((name) => [name, samples.get(name)!]));
    const { bundles, firstInvocations } = await benchBundles({ ...options, invocations });
    const cpu = cpus();
    return { machine: { node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown' }, bundles, firstInvocations, interactions };
  } finally {
    await database.stop();
  }
}

function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
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
      Object.entries(figures.dynamodb.operations)
        .map(([operation, calls]) => `${operation} ${calls}`)
        .join(', '),
    ]),
  ]);
}

const options = benchOptions(process.argv.slice(2));
const results = await bench(options);
const json = JSON.stringify(results, null, 2);
await writeFile(join(BENCH_DIR, 'results.json'), `${json}\n`);
console.log(json);
console.log(
  [
    `\nNode ${results.machine.node}, ${results.machine.cpus} × ${results.machine.cpuModel}`,
    `\nBundles (cold import: ${options.coldRuns} fresh processes each)\n${bundlesTable(results.bundles)}`,
    `\nFirst invocation in a fresh process (${options.invocationRuns} each; DynamoDB Local)\n${firstInvocationsTable(results.firstInvocations)}`,
    `\nInteractions in process (${options.iterations} calls after ${options.warmup} warm-up; handler time, no HTTP; DynamoDB per call, mean)\n${interactionsTable(results.interactions)}`,
  ].join('\n'),
);
