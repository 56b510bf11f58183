/**
 * The `$analytics` driver of the functions that answer it (create: `POST`, search: `GET`): the
 * reports bucket, and how a run starts — the analytics Lambda invoked asynchronously when
 * `FHIR_ANALYTICS_FUNCTION` names it (deployed), else a background run in this very process
 * (`npm start`, tests), loaded by a computed path so that no deployed bundle carries the
 * aggregation and chart code. The S3 and Lambda clients (core/analytics/aws.ts) load at the first
 * `$analytics` request, not at the cold start of every create and search.
 */
import type { RunRequest } from '../../core/analytics/aws.js';
import { type AnalyticsConfig, loadAnalyticsConfig } from '../../core/analytics/config.js';
import type { AnalyticsParts } from '../../core/analytics/requests.js';
import { type ObjectStore, ReportArchive } from '../../core/analytics/reports.js';
import type { RuntimeConfig } from '../../core/config.js';

/** functions/analytics.ts, relative to this module. */
const IN_PROCESS_RUNNER = '../analytics.js';

/** core/analytics/aws.ts: deployed, a chunk of its own (`nodejs.splitting`), loaded at the first `$analytics` request. */
const awsClients = lazily(() => import('../../core/analytics/aws.js'));

export function analyticsParts(config: RuntimeConfig): AnalyticsParts | undefined {
  const analytics = loadAnalyticsConfig();
  if (!analytics) {
    return undefined;
  }
  const functionName = analytics.functionName;
  const starter = functionName ? lazily(async () => (await awsClients()).lambdaStarter(functionName, config.region)) : undefined;
  const start = starter ? async (request: RunRequest) => (await starter())(request) : inProcess;
  return { archive: new ReportArchive(reportObjects(analytics, config.region)), start };
}

function reportObjects(analytics: AnalyticsConfig, region: string): ObjectStore {
  const objects = lazily(async () => (await awsClients()).s3Objects(analytics, region));
  return {
    put: async (key, body, contentType) => (await objects()).put(key, body, contentType),
    get: async (key) => (await objects()).get(key),
  };
}

/** `build` run once, at the first call. */
function lazily<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => (built ??= build());
}

async function inProcess(request: RunRequest): Promise<void> {
  const runner = (await import(IN_PROCESS_RUNNER)) as typeof import('../analytics.js');
  // Not awaited: the caller answers 202 now; the run records its own failure in its status.
  runner.runTenant(request).catch(() => {});
}
