/**
 * The analytics function (3008 MB / 900 s): one tenant's report when invoked with
 * `{ tenant, runId }` (a `POST /$analytics`, or the schedule fanning out), every tenant with data
 * when EventBridge's schedule invokes it. Each tenant's run is an invocation of its own, so a
 * run's 15 minutes are per tenant, and tenants run in parallel.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { deadLetterCounter, lambdaStarter, type RunRequest, s3Objects, snsAnnouncer } from '../core/analytics/aws.js';
import { type AnalyticsConfig, loadAnalyticsConfig } from '../core/analytics/config.js';
import { ReportArchive, type ReportReady } from '../core/analytics/reports.js';
import type { RunOptions } from '../core/analytics/run.js';
import { runAnalytics } from '../core/analytics/runner.js';
import { tenantsToReport } from '../core/analytics/tenants.js';
import { config } from '../core/config.js';
import { ConfigError } from '../core/config.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { parseTenantId } from '../core/tenant.js';
import { Components } from '../core/wiring.js';

const logger = new Logger({ serviceName: 'fhir-analytics' });

function analyticsConfig(): AnalyticsConfig {
  const analytics = loadAnalyticsConfig();
  if (!analytics) {
    throw new ConfigError('The analytics function needs FHIR_ANALYTICS_BUCKET');
  }
  return analytics;
}

let components: Components | undefined;

/**
 * Time a run keeps, after its data-quality pass stops validating, for the rest: reading what is
 * left, API activity, index health, rendering and storing.
 */
const AFTER_VALIDATION_MS = 180_000;

/** One tenant's run, from its status to "report ready". */
export async function runTenant(request: RunRequest, options: Pick<RunOptions, 'onProgress' | 'validateUntil'> = {}): Promise<ReportReady> {
  const resolved = config();
  const analytics = analyticsConfig();
  components ??= new Components(resolved, { openSearchClient });
  const index = components.openSearch && resolved.openSearch ? { client: components.openSearch, index: resolved.openSearch.index } : undefined;
  const archive = new ReportArchive(s3Objects(analytics, resolved.region), snsAnnouncer(analytics, resolved.region));
  const deadLetters = deadLetterCounter(analytics, resolved.region);
  return runAnalytics(
    archive,
    { repository: components.repository, auditLog: components.auditLog, ...(index ? { index } : {}), ...(deadLetters ? { deadLetters } : {}) },
    { tenant: parseTenantId(request.tenant), runId: request.runId, activityDays: analytics.activityDays, ...options },
  );
}

/** The schedule's run: a run per tenant with data, each its own invocation when deployed, one after the other here. */
export async function runEveryTenant(onProgress?: (message: string) => void): Promise<RunRequest[]> {
  const resolved = config();
  const analytics = analyticsConfig();
  components ??= new Components(resolved, { openSearchClient });
  const tenants = await tenantsToReport(components.tenantRegistry, analytics.tenants);
  const requests = tenants.map((tenant) => ({ tenant, runId: randomUUID() }));
  const archive = new ReportArchive(s3Objects(analytics, resolved.region));
  for (const request of requests) {
    const now = new Date().toISOString();
    await archive.setStatus(request.tenant, { runId: request.runId, status: 'accepted', requestedAt: now, updatedAt: now });
    if (analytics.functionName) {
      await lambdaStarter(analytics.functionName, resolved.region)(request);
    } else {
      await runTenant(request, { onProgress });
    }
  }
  return requests;
}

export const handler = async (event: Partial<RunRequest>, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<unknown> => {
  if (typeof event.tenant === 'string' && typeof event.runId === 'string') {
    const ready = await runTenant(
      { tenant: parseTenantId(event.tenant), runId: event.runId },
      { onProgress: (message) => logger.debug(message), ...(context ? { validateUntil: Date.now() + context.getRemainingTimeInMillis() - AFTER_VALIDATION_MS } : {}) },
    );
    logger.info('report ready', { ...ready });
    return ready;
  }
  const started = await runEveryTenant();
  logger.info('scheduled runs started', { tenants: started.length });
  return { started: started.length };
};


