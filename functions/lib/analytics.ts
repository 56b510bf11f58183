/**
 * The `$analytics` driver of the functions that answer it (create: `POST`, search: `GET`): the
 * reports bucket, and how a run starts — the analytics Lambda invoked asynchronously when
 * `FHIR_ANALYTICS_FUNCTION` names it (deployed), else a background run in this very process
 * (`npm start`, tests), loaded by a computed path so that no deployed bundle carries the
 * aggregation and chart code.
 */
import { lambdaStarter, type RunRequest, s3Objects } from '../../core/analytics/aws.js';
import { loadAnalyticsConfig } from '../../core/analytics/config.js';
import type { AnalyticsParts } from '../../core/analytics/requests.js';
import { ReportArchive } from '../../core/analytics/reports.js';
import type { RuntimeConfig } from '../../core/config.js';

/** functions/analytics.ts, relative to this module. */
const IN_PROCESS_RUNNER = '../analytics.js';

export function analyticsParts(config: RuntimeConfig): AnalyticsParts | undefined {
  const analytics = loadAnalyticsConfig();
  if (!analytics) {
    return undefined;
  }
  const start = analytics.functionName ? lambdaStarter(analytics.functionName, config.region) : inProcess;
  return { archive: new ReportArchive(s3Objects(analytics, config.region)), start };
}

async function inProcess(request: RunRequest): Promise<void> {
  const runner = (await import(IN_PROCESS_RUNNER)) as typeof import('../analytics.js');
  // Not awaited: the caller answers 202 now; the run records its own failure in its status.
  runner.runTenant(request).catch(() => {});
}


