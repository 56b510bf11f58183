/**
 * The reference FHIR workload of `../shared/tools/crud_load.py`, phase for phase, against any FHIR
 * base URL: create `n` Patients, read each, update each, search them by family name (`_count=10`)
 * right after the writes, then POST the Synthea transaction Bundles. Each phase is timed on its
 * own with `c` workers, each on its own keep-alive connection, as the reference does.
 */
import { readdir, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { percentile, round } from '../bench/stats.js';

export interface WorkloadOptions {
  readonly baseUrl: string;
  /** Operations per CRUD phase. */
  readonly n: number;
  /** Workers of a CRUD phase. */
  readonly concurrency: number;
  /** Sent as X-Tenant-ID (local-dev mode, and servers that take the tenant from it). */
  readonly tenant: string;
  /** Sent as `Authorization: Bearer`. */
  readonly token?: string;
  /** A folder of transaction Bundles (`*.json`) for the ingest phase; absent: no ingest phase. */
  readonly bundlesDir?: string;
  readonly bundleConcurrency: number;
  readonly maxBundles: number;
  /** Counts the CPU the server's processes spend during a phase (process-cpu.ts), when they are on this machine. */
  readonly cpuMeter?: () => () => Record<string, number>;
}

export interface PhaseFigures {
  readonly phase: 'create' | 'read' | 'update' | 'search' | 'ingest';
  readonly n: number;
  /** Answers with a status of 400 or more, or no answer. */
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly wallSeconds: number;
  /** Search: pages that were already full right after the writes (read-your-writes). */
  readonly fullPages?: number;
  /** Ingest: resources in the Bundles sent, and per second. */
  readonly resources?: number;
  readonly resourcesPerSecond?: number;
  /** CPU milliseconds per operation (ingest: per resource) by server process, and of this client. */
  readonly cpuMsPerOperation?: Record<string, number>;
  /** The first few failures, to see what went wrong. */
  readonly failures: readonly string[];
}

interface Job {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  /** Serialized once, before the phase starts: the client's own work stays out of the timing. */
  readonly body?: string;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

const FAILURES_KEPT = 5;

/** Runs every phase, reporting each as it ends. */
export async function runWorkload(options: WorkloadOptions, report: (figures: PhaseFigures) => void): Promise<PhaseFigures[]> {
  const phases: PhaseFigures[] = [];
  const done = (figures: PhaseFigures) => {
    phases.push(figures);
    report(figures);
  };
  const family = `Perf${randomUUID().slice(0, 6)}`;
  const created = await runPhase(
    'create',
    options,
    options.concurrency,
    Array.from({ length: options.n }, (_, i) => ({
      method: 'POST',
      path: '/Patient',
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family, given: [`G${i}`] }], gender: 'female', birthDate: `19${String(i % 100).padStart(2, '0')}-01-01` }),
    })),
  );
  done(created.figures);
  const ids = created.answers.flatMap((answer) => {
    const id = answer && answer.status < 300 ? (parseJson(answer.body) as { id?: string } | undefined)?.id : undefined;
    return id ? [id] : [];
  });
  if (ids.length === 0) {
    throw new Error(`No Patient was created; first failures:\n${created.figures.failures.join('\n')}`);
  }
  done((await runPhase('read', options, options.concurrency, ids.map((id) => ({ method: 'GET', path: `/Patient/${id}` })))).figures);
  const updates = ids.map((id): Job => ({ method: 'PUT', path: `/Patient/${id}`, body: JSON.stringify({ resourceType: 'Patient', id, name: [{ family, given: ['U'] }], gender: 'male' }) }));
  done((await runPhase('update', options, options.concurrency, updates)).figures);
  const searches = Array.from({ length: options.n }, (): Job => ({ method: 'GET', path: `/Patient?family=${family}&_count=10` }));
  const search = await runPhase('search', options, options.concurrency, searches);
  const pageSize = Math.min(10, ids.length);
  const fullPages = search.answers.filter((answer) => answer?.status === 200 && ((parseJson(answer.body) as { entry?: unknown[] } | undefined)?.entry?.length ?? 0) === pageSize).length;
  done({ ...search.figures, fullPages });
  if (options.bundlesDir) {
    const bundles = await transactionBundles(options.bundlesDir, options.maxBundles);
    const resources = bundles.reduce((sum, bundle) => sum + bundle.entries, 0);
    const jobs = bundles.map((bundle): Job => ({ method: 'POST', path: '', body: bundle.body }));
    const ingest = await runPhase('ingest', options, options.bundleConcurrency, jobs, resources);
    done({ ...ingest.figures, resources, resourcesPerSecond: round(resources / ingest.figures.wallSeconds) });
  }
  return phases;
}

async function transactionBundles(dir: string, max: number): Promise<{ body: string; entries: number }[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort().slice(0, max);
  if (files.length === 0) {
    throw new Error(`No transaction Bundles (*.json) in ${dir}`);
  }
  return Promise.all(
    files.map(async (file) => {
      const body = await readFile(join(dir, file), 'utf8');
      return { body, entries: ((JSON.parse(body) as { entry?: unknown[] }).entry ?? []).length };
    }),
  );
}

async function runPhase(
  phase: PhaseFigures['phase'],
  options: WorkloadOptions,
  concurrency: number,
  jobs: readonly Job[],
  /** What CPU time is counted per: the jobs, or the resources they carry. */
  operations = jobs.length,
): Promise<{ figures: PhaseFigures; answers: (Answer | undefined)[] }> {
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/$/, '');
  // One connection per worker, kept alive, as the reference client's threads do.
  const agent = new (base.protocol === 'https:' ? HttpsAgent : Agent)({ keepAlive: true, maxSockets: concurrency });
  const headers: Record<string, string> = { Accept: 'application/fhir+json', 'X-Tenant-ID': options.tenant };
  if (options.token) {
    headers.Authorization = `Bearer ${options.token}`;
  }
  const answers: (Answer | undefined)[] = new Array(jobs.length);
  const latencies: number[] = [];
  const failures: string[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) {
      const job = jobs[i]!;
      const started = performance.now();
      let answer: Answer | undefined;
      try {
        answer = await send(base, agent, job.method, prefix + job.path || '/', headers, job.body);
      } catch (error) {
        answer = undefined;
        if (failures.length < FAILURES_KEPT) {
          failures.push(`${job.method} ${job.path}: ${(error as Error).message}`);
        }
      }
      latencies.push(performance.now() - started);
      answers[i] = answer;
      if (!answer || answer.status >= 400) {
        errors += 1;
        if (answer && failures.length < FAILURES_KEPT) {
          failures.push(`${job.method} ${job.path}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
        }
      }
    }
  };
  const stopMeter = options.cpuMeter?.();
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = stopMeter?.();
  agent.destroy();
  const ascending = latencies.sort((a, b) => a - b);
  return {
    figures: {
      phase,
      n: jobs.length,
      errors,
      rps: round(jobs.length / wallSeconds),
      p50Ms: round(percentile(ascending, 50)),
      p95Ms: round(percentile(ascending, 95)),
      p99Ms: round(percentile(ascending, 99)),
      wallSeconds: round(wallSeconds),
      ...(cpu ? { cpuMsPerOperation: perOperation(cpu, operations) } : {}),
      failures,
    },
    answers,
  };
}

/** Each process's milliseconds divided by the operations, and their total. */
function perOperation(spentMs: Record<string, number>, operations: number): Record<string, number> {
  const each = Object.fromEntries(Object.entries(spentMs).map(([name, ms]) => [name, round(ms / operations)]));
  return { ...each, total: round(Object.values(spentMs).reduce((sum, ms) => sum + ms, 0) / operations) };
}

function send(base: URL, agent: Agent, method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (base.protocol === 'https:' ? httpsRequest : request)(
      {
        host: base.hostname,
        port: base.port || undefined,
        method,
        path,
        agent,
        headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(body) },
        timeout: 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 120 s')));
    req.on('error', reject);
    req.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
