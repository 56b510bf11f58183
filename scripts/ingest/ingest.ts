/**
 * Loads a folder of transaction Bundles or Bulk Data NDJSON into a running server through
 * `POST /` (see `plan.ts` for what is sent and in which order), resumably (`state.ts`).
 */
import { resolve } from 'node:path';
import { type ProgressOutput, startProgress } from '../cli/progress.js';
import { planIngest, type Unit } from './plan.js';
import { writePlanLine } from './report.js';
import { checkServer, DEFAULT_RETRY, postBundle, type RetryPolicy, type SendResult, type Target } from './send.js';
import { openState } from './state.js';
import type { IngestFailure, IngestSummary } from './summary.js';

export const DEFAULT_STATE_FILE = '.data/ingest-state.json';
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_CHUNK_SIZE = 50;

export interface IngestOptions extends Target {
  readonly folder: string;
  /** Bundles in flight at once. */
  readonly concurrency?: number;
  /** NDJSON lines per transaction. */
  readonly chunkSize?: number;
  /** Relative to the working directory. */
  readonly stateFile?: string;
  /** Send everything again, whatever the state file says. */
  readonly restart?: boolean;
  readonly retry?: RetryPolicy;
  /** Where the plan and the progress bar go; nowhere when absent. */
  readonly progress?: ProgressOutput;
}

export async function ingest(options: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const folder = resolve(options.folder);
  const target: Target = { baseUrl: options.baseUrl.replace(/\/+$/, ''), tenant: options.tenant, token: options.token };
  const retry = options.retry ?? DEFAULT_RETRY;
  const plan = await planIngest(folder, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const state = await openState(
    resolve(options.stateFile ?? DEFAULT_STATE_FILE),
    `${target.baseUrl} tenant=${target.tenant ?? '(default)'} ${folder}`,
    options.restart ?? false,
  );
  const all = plan.phases.flat();
  const phases = plan.phases.map((phase) => phase.filter((unit) => !state.isLoaded(unit.name, unit.sha256)));
  const pending = phases.flat();
  const skipped = { units: all.length - pending.length, resources: sum(all) - sum(pending) };
  if (options.progress) {
    writePlanLine(options.progress, { folder, format: plan.format, files: plan.files, units: all.length, resources: sum(all), skipped });
  }
  if (pending.length > 0) {
    await checkServer(target);
  }
  const progress = options.progress && startProgress(options.progress, sum(pending), 'resources');
  const loaded: Unit[] = [];
  const failures: IngestFailure[] = [];
  let failedResources = 0;
  for (const phase of phases) {
    // A phase ends before the next begins: its resources are the targets of the next ones' conditional references.
    await forEachConcurrently(phase, options.concurrency ?? DEFAULT_CONCURRENCY, async (unit) => {
      const result = await loadUnit(unit, target, retry);
      if (result.ok) {
        await state.recordLoaded(unit.name, unit.sha256);
        loaded.push(unit);
      } else {
        failures.push({ unit: unit.name, ...(result.status === undefined ? {} : { status: result.status }), message: result.message });
        failedResources += unit.resources;
      }
      progress?.advance(unit.resources);
    });
  }
  progress?.finish();
  return {
    format: plan.format,
    files: plan.files,
    units: { loaded: loaded.length, failed: failures.length, skipped: skipped.units },
    resources: { loaded: sum(loaded), failed: failedResources, skipped: skipped.resources },
    elapsedMs: performance.now() - started,
    failures: failures.sort((a, b) => a.unit.localeCompare(b.unit, 'en', { numeric: true })),
  };
}

async function loadUnit(unit: Unit, target: Target, retry: RetryPolicy): Promise<SendResult> {
  const bundle = await unit.bundle();
  return 'error' in bundle ? { ok: false, message: bundle.error } : postBundle(target, bundle.body, retry);
}

async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      await work(items[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function sum(units: readonly Unit[]): number {
  return units.reduce((total, unit) => total + unit.resources, 0);
}
