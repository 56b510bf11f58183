/**
 * Part 5: transaction Bundles (`POST /`) built from the shared Synthea data
 * (`../shared/data/synthea-r4/`: one transaction per patient, every entry a POST with a
 * `urn:uuid:` fullUrl).
 *
 * 1. Latency by size, through the metered API (handler time; DynamoDB per call): the largest
 *    Bundle as it is (391 entries), and 10 and 100 entries cut from it: its Patient followed by
 *    its first Observations, each pointing at the Patient by its `urn:uuid:` (their `encounter`,
 *    whose Encounter is not in the cut, is dropped), so that every reference resolves. 100 entries
 *    is DynamoDB's `TransactWriteItems` limit; above it the server uses its staged commit protocol.
 *    Each size runs in its own tenant; POST makes new ids on every call, so the same Bundle is
 *    simply sent again. Sent with `Prefer: return=minimal`, as the ingest command does.
 * 2. Ingest: every Bundle of the folder loaded by the ingest command (`scripts/ingest/ingest.ts`)
 *    into a plain local API, `concurrency` Bundles in flight, into a tenant of its own.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { ingest } from '../ingest/ingest.js';
import { startLocalApi } from '../local/http-server.js';
import { type Invocation, type MeteredApi, startMeteredApi } from './metered-api.js';
import { mean, round, type Summary, summarize } from './stats.js';

export interface TransactionBenchOptions {
  readonly syntheaDir: string;
  /** Measured calls per size (fewer past `budgetMs`). */
  readonly runs: number;
  /** Unmeasured calls per size first. */
  readonly warmup: number;
  /** Measuring a size stops early (after at least `MIN_RUNS`) once its runs have taken this long. */
  readonly budgetMs: number;
  /** Bundles in flight during the ingest. */
  readonly ingestConcurrency: number;
}

interface DynamoFigures {
  readonly requests: number;
  readonly itemsRead: number;
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
}

export interface TransactionSizeFigures {
  readonly entries: number;
  /** What the Bundle is made of. */
  readonly source: string;
  readonly tenant: string;
  /** HTTP status (every measured call answered 200 with a 201 per entry, or the bench fails). */
  readonly status: number;
  readonly latencyMs: Summary;
  /** p50 over the entries. */
  readonly p50PerEntryMs: number;
  /** Per call, mean over the measured calls. */
  readonly dynamodb: DynamoFigures & { readonly operations: Record<string, number> };
  /** `dynamodb` over the entries. */
  readonly perEntry: DynamoFigures;
}

export interface IngestFigures {
  readonly tenant: string;
  readonly concurrency: number;
  readonly bundles: number;
  readonly failedBundles: number;
  readonly resources: number;
  readonly seconds: number;
  readonly resourcesPerSecond: number;
  /** Failed units, with the server's answer. */
  readonly failures: readonly string[];
}

export interface TransactionFigures {
  readonly sizes: readonly TransactionSizeFigures[];
  readonly ingest: IngestFigures;
}

/** The cut sizes; the whole largest Bundle comes on top. */
const CUT_SIZES = [10, 100] as const;
/** Even a slow size gets this many measured calls. */
const MIN_RUNS = 3;
const URN_UUID = 'urn:uuid:';

export async function benchTransactions(options: TransactionBenchOptions): Promise<TransactionFigures> {
  const { file, bundle: largest } = await largestBundle(options.syntheaDir);
  const bundles = [
    ...CUT_SIZES.map((size) => ({ bundle: cut(largest, size), source: `Patient + ${size - 1} Observations of ${file}` })),
    { bundle: largest, source: file },
  ];
  const api = await startMeteredApi();
  try {
    const sizes: TransactionSizeFigures[] = [];
    for (const { bundle, source } of bundles) {
      console.error(`transactions: ${bundle.entry!.length} entries (${source})`);
      sizes.push(await runSize(api, bundle, source, options));
    }
    // Through a plain local API, started while the metered API captures stdout, so that the
    // handlers' log lines do not bury the output (as the search part loads its data).
    const ingestFigures = await benchIngest(options);
    return { sizes, ingest: ingestFigures };
  } finally {
    await api.close();
  }
}

// ---- the Bundles --------------------------------------------------------------------------

async function largestBundle(dir: string): Promise<{ file: string; bundle: Bundle }> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  let best: { file: string; bundle: Bundle } | undefined;
  for (const file of files) {
    const bundle = JSON.parse(await readFile(join(dir, file), 'utf8')) as Bundle;
    if (bundle.type !== 'transaction') {
      throw new Error(`${file}: a ${bundle.type} Bundle, not a transaction`);
    }
    if (!best || (bundle.entry?.length ?? 0) > (best.bundle.entry?.length ?? 0)) {
      best = { file, bundle };
    }
  }
  if (!best) {
    throw new Error(`No Synthea Bundles (*.json) in ${dir}`);
  }
  return best;
}

/** The Patient and its first `size - 1` Observations that reference nothing else once their `encounter` is dropped. */
function cut(bundle: Bundle, size: number): Bundle {
  const entries = bundle.entry ?? [];
  const patient = entries.find((entry) => entry.resource?.resourceType === 'Patient');
  if (!patient?.fullUrl?.startsWith(URN_UUID) || referencedUrns(patient.resource).length > 0) {
    throw new Error('The largest Synthea Bundle has no Patient with a urn:uuid fullUrl and no references');
  }
  const observations: BundleEntry[] = [];
  for (const entry of entries) {
    if (observations.length === size - 1) {
      break;
    }
    if (entry.resource?.resourceType !== 'Observation') {
      continue;
    }
    const { encounter: _dropped, ...resource } = entry.resource;
    const urns = referencedUrns(resource);
    if (urns.length > 0 && urns.every((urn) => urn === patient.fullUrl)) {
      observations.push({ ...entry, resource });
    }
  }
  if (observations.length < size - 1) {
    throw new Error(`The largest Synthea Bundle has ${observations.length} usable Observations, ${size - 1} needed`);
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: [patient, ...observations] };
}

function referencedUrns(value: unknown): string[] {
  if (typeof value === 'string') {
    return value.startsWith(URN_UUID) ? [value] : [];
  }
  if (Array.isArray(value)) {
    return value.flatMap(referencedUrns);
  }
  if (value !== null && typeof value === 'object') {
    return Object.values(value).flatMap(referencedUrns);
  }
  return [];
}

// ---- latency by size ----------------------------------------------------------------------

async function runSize(api: MeteredApi, bundle: Bundle, source: string, options: TransactionBenchOptions): Promise<TransactionSizeFigures> {
  const entries = bundle.entry!.length;
  const tenant = `bench-tx-${entries}`;
  const send = async (): Promise<Invocation> => {
    const call = await api.send({ method: 'POST', path: '/', body: bundle, headers: { 'X-Tenant-ID': tenant, Prefer: 'return=minimal' } });
    checkResponse(call, entries);
    return call;
  };
  for (let i = 0; i < options.warmup; i++) {
    await send();
  }
  const calls: Invocation[] = [];
  const started = performance.now();
  while (calls.length < options.runs && (calls.length < MIN_RUNS || performance.now() - started < options.budgetMs)) {
    calls.push(await send());
  }
  await checkReferences(api, calls[calls.length - 1]!, tenant);
  const usages = calls.map((call) => call.dynamodb);
  const dynamodb = {
    requests: mean(usages.map((usage) => usage.requests)),
    itemsRead: mean(usages.map((usage) => usage.itemsRead)),
    readCapacityUnits: mean(usages.map((usage) => usage.readCapacityUnits)),
    writeCapacityUnits: mean(usages.map((usage) => usage.writeCapacityUnits)),
  };
  const operationNames = [...new Set(usages.flatMap((usage) => Object.keys(usage.operations)))].sort();
  const latencyMs = summarize(calls.map((call) => call.handlerMs));
  return {
    entries,
    source,
    tenant,
    status: calls[calls.length - 1]!.result.statusCode,
    latencyMs,
    p50PerEntryMs: round(latencyMs.p50 / entries),
    dynamodb: {
      ...roundAll(dynamodb),
      operations: Object.fromEntries(operationNames.map((name) => [name, round(mean(usages.map((usage) => usage.operations[name] ?? 0)))])),
    },
    perEntry: {
      requests: round3(dynamodb.requests / entries),
      itemsRead: round3(dynamodb.itemsRead / entries),
      readCapacityUnits: round3(dynamodb.readCapacityUnits / entries),
      writeCapacityUnits: round3(dynamodb.writeCapacityUnits / entries),
    },
  };
}

/** A transaction-response with a 201 per entry, or the benchmark stops with the server's answer. */
function checkResponse(call: Invocation, entries: number): void {
  const { statusCode, body } = call.result;
  const answer = JSON.parse(body) as Bundle | OperationOutcome;
  if (statusCode !== 200 || answer.resourceType !== 'Bundle' || answer.type !== 'transaction-response') {
    const diagnostics = answer.resourceType === 'OperationOutcome' ? answer.issue?.map((issue) => issue.diagnostics ?? issue.code).join('; ') : body.slice(0, 500);
    throw new Error(`POST / (transaction of ${entries}): HTTP ${statusCode}: ${diagnostics}`);
  }
  const created = (answer.entry ?? []).filter((entry) => entry.response?.status?.startsWith('201')).length;
  if ((answer.entry ?? []).length !== entries || created !== entries) {
    throw new Error(`POST / (transaction of ${entries}): ${answer.entry?.length ?? 0} response entries, ${created} of them 201 Created`);
  }
}

/** The Patient and the first Observation of a committed transaction are readable, the Observation pointing at the Patient's new id. */
async function checkReferences(api: MeteredApi, call: Invocation, tenant: string): Promise<void> {
  // Locations may be absolute (`<base>/Patient/<id>/_history/1`): `Type/id` is what matters.
  const locations = ((JSON.parse(call.result.body) as Bundle).entry ?? []).map((entry) => /(\w+\/[^/]+)(\/_history\/[^/]+)?$/.exec(entry.response?.location ?? '')?.[1] ?? '');
  const patient = locations.find((location) => location.startsWith('Patient/'));
  const observation = locations.find((location) => location.startsWith('Observation/'));
  if (!patient || !observation) {
    throw new Error(`A transaction-response without a Patient and an Observation location: ${locations.slice(0, 3).join(', ')}`);
  }
  for (const path of [patient, observation]) {
    const read = await api.send({ method: 'GET', path: `/${path}`, headers: { 'X-Tenant-ID': tenant } });
    if (read.result.statusCode !== 200) {
      throw new Error(`GET /${path} after the transaction: HTTP ${read.result.statusCode}`);
    }
    const resource = JSON.parse(read.result.body) as Resource;
    if (resource.resourceType === 'Observation' && resource.subject?.reference !== patient) {
      throw new Error(`${path}.subject is ${resource.subject?.reference}, not ${patient}`);
    }
  }
}

// ---- ingest -------------------------------------------------------------------------------

async function benchIngest(options: TransactionBenchOptions): Promise<IngestFigures> {
  const tenant = 'bench-tx-ingest';
  const stateDir = await mkdtemp(join(tmpdir(), 'fhir-bench-ingest-'));
  const local = await startLocalApi();
  try {
    console.error(`transactions: ingesting ${options.syntheaDir} into tenant ${tenant}, ${options.ingestConcurrency} in flight`);
    const summary = await ingest({
      baseUrl: local.baseUrl,
      tenant,
      folder: options.syntheaDir,
      concurrency: options.ingestConcurrency,
      stateFile: join(stateDir, 'state.json'),
      restart: true,
      progress: process.stderr,
    });
    const seconds = summary.elapsedMs / 1000;
    return {
      tenant,
      concurrency: options.ingestConcurrency,
      bundles: summary.units.loaded,
      failedBundles: summary.units.failed,
      resources: summary.resources.loaded,
      seconds: round(seconds),
      resourcesPerSecond: round(summary.resources.loaded / seconds),
      failures: summary.failures.map((failure) => `${failure.unit}: ${failure.status === undefined ? '' : `HTTP ${failure.status}: `}${failure.message}`),
    };
  } finally {
    await local.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

function roundAll(figures: DynamoFigures): DynamoFigures {
  return {
    requests: round(figures.requests),
    itemsRead: round(figures.itemsRead),
    readCapacityUnits: round(figures.readCapacityUnits),
    writeCapacityUnits: round(figures.writeCapacityUnits),
  };
}

/** Per-entry figures are often below 0.01. */
function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
