/**
 * Reports in their bucket, per tenant and date, and the runs that make them:
 *
 *   analytics/{tenant}/{yyyy-mm-dd}/{runId}.json   the report (report.ts)
 *   analytics/{tenant}/{yyyy-mm-dd}/{runId}.html   its page with charts (render.ts)
 *   analytics/{tenant}/latest.json                 which run is the latest complete one
 *   analytics/{tenant}/runs/{runId}.json           a run's status (accepted, running, complete, failed)
 *   analytics/{tenant}/verdicts.json               the last run's validation verdicts (verdicts.ts)
 *
 * A run stores both renderings, then moves `latest`, then announces "report ready" (SNS, with
 * the tenant as a message attribute), so a subscriber that reads `latest` finds the new report.
 */
import type { TenantId } from '../tenant.js';
import type { AnalyticsReport } from './report.js';
import type { StoredVerdicts } from './verdicts.js';

/** Text objects in the reports bucket (S3; s3-objects.ts). */
export interface ObjectStore {
  put(key: string, body: string, contentType: string): Promise<void>;
  /** Undefined when there is no such object. */
  get(key: string): Promise<string | undefined>;
}

/** Tells subscribers that a tenant's report is stored. */
export type ReportAnnouncer = (event: ReportReady) => Promise<void>;

export interface ReportReady {
  readonly tenant: TenantId;
  readonly runId: string;
  readonly asOf: string;
  /** Object keys in the reports bucket. */
  readonly json: string;
  readonly html: string;
}

export interface RunStatus {
  readonly runId: string;
  readonly status: 'accepted' | 'running' | 'complete' | 'failed';
  readonly requestedAt: string;
  readonly updatedAt: string;
  /** Once complete: the report's keys. */
  readonly json?: string;
  readonly html?: string;
  /** What went wrong, once failed. */
  readonly error?: string;
}

export type ReportFormat = 'json' | 'html';

const CONTENT_TYPES: Record<ReportFormat, string> = { json: 'application/json', html: 'text/html; charset=utf-8' };

/** Every key of the reports bucket starts so (infra/policies.ts grants on it). */
export const REPORTS_PREFIX = 'analytics/';
/** Where run statuses lie under a tenant's folder: the only objects the API's start of a run writes. */
export const RUNS_FOLDER = 'runs/';

export const reportKeys = {
  report: (tenant: TenantId, asOf: string, runId: string, format: ReportFormat) => `${REPORTS_PREFIX}${tenant}/${asOf.slice(0, 10)}/${runId}.${format}`,
  latest: (tenant: TenantId) => `${REPORTS_PREFIX}${tenant}/latest.json`,
  run: (tenant: TenantId, runId: string) => `${REPORTS_PREFIX}${tenant}/${RUNS_FOLDER}${runId}.json`,
  verdicts: (tenant: TenantId) => `${REPORTS_PREFIX}${tenant}/verdicts.json`,
};

export class ReportArchive {
  constructor(
    private readonly store: ObjectStore,
    private readonly announce?: ReportAnnouncer,
  ) {}

  async setStatus(tenant: TenantId, status: RunStatus): Promise<void> {
    await this.store.put(reportKeys.run(tenant, status.runId), JSON.stringify(status), CONTENT_TYPES.json);
  }

  async status(tenant: TenantId, runId: string): Promise<RunStatus | undefined> {
    const text = await this.store.get(reportKeys.run(tenant, runId));
    return text === undefined ? undefined : (JSON.parse(text) as RunStatus);
  }

  /** Stores both renderings, makes them the latest, and announces them; returns their keys. */
  async publish(report: AnalyticsReport, html: string): Promise<ReportReady> {
    const tenant = report.tenant as TenantId;
    const keys = { json: reportKeys.report(tenant, report.asOf, report.runId, 'json'), html: reportKeys.report(tenant, report.asOf, report.runId, 'html') };
    await Promise.all([this.store.put(keys.json, JSON.stringify(report, null, 2), CONTENT_TYPES.json), this.store.put(keys.html, html, CONTENT_TYPES.html)]);
    const ready: ReportReady = { tenant, runId: report.runId, asOf: report.asOf, ...keys };
    await this.store.put(reportKeys.latest(tenant), JSON.stringify(ready), CONTENT_TYPES.json);
    await this.announce?.(ready);
    return ready;
  }

  async verdicts(tenant: TenantId): Promise<StoredVerdicts | undefined> {
    const text = await this.store.get(reportKeys.verdicts(tenant));
    return text === undefined ? undefined : (JSON.parse(text) as StoredVerdicts);
  }

  async saveVerdicts(tenant: TenantId, verdicts: StoredVerdicts): Promise<void> {
    await this.store.put(reportKeys.verdicts(tenant), JSON.stringify(verdicts), CONTENT_TYPES.json);
  }

  async read(key: string): Promise<string | undefined> {
    return this.store.get(key);
  }

  /** The latest complete report of the tenant in one format, as stored; undefined before the first. */
  async latest(tenant: TenantId, format: ReportFormat): Promise<string | undefined> {
    const pointer = await this.store.get(reportKeys.latest(tenant));
    return pointer === undefined ? undefined : this.store.get((JSON.parse(pointer) as ReportReady)[format]);
  }
}
