/**
 * `$analytics` as the API sees it: start a run for the caller's tenant (its status stored as
 * `accepted`, the run itself started elsewhere: the analytics Lambda, or a background task under
 * `npm start`), a run's status, and the latest report. The run (runner.ts) is not here, so the
 * functions that answer `$analytics` do not carry the aggregation and chart code.
 */
import { randomUUID } from 'node:crypto';
import { FhirError } from '../errors.js';
import type { TenantId } from '../tenant.js';
import type { RunRequest } from './aws.js';
import type { ReportArchive, ReportFormat, RunStatus } from './reports.js';

/** Where reports are kept, and how a run is started (the analytics Lambda, or this process). */
export interface AnalyticsParts {
  readonly archive: ReportArchive;
  readonly start: (request: RunRequest) => Promise<void>;
}

export class AnalyticsRequests {
  /** `parts` undefined: analytics is not configured, and every request is 501. */
  constructor(private readonly parts: AnalyticsParts | undefined) {}

  private configured() {
    if (!this.parts) {
      throw FhirError.of(501, 'not-supported', '$analytics is not configured on this server (FHIR_ANALYTICS_BUCKET)');
    }
    return this.parts;
  }

  async start(tenant: TenantId): Promise<RunStatus> {
    const { archive, start } = this.configured();
    const now = new Date().toISOString();
    const status: RunStatus = { runId: randomUUID(), status: 'accepted', requestedAt: now, updatedAt: now };
    await archive.setStatus(tenant, status);
    await start({ tenant, runId: status.runId });
    return status;
  }

  async status(tenant: TenantId, runId: string): Promise<RunStatus> {
    const status = await this.configured().archive.status(tenant, runId);
    if (!status) {
      throw FhirError.notFound(`No analytics run ${runId.slice(0, 64)} for this tenant`);
    }
    return status;
  }

  /** The report of a complete run. */
  async report(run: RunStatus, format: ReportFormat): Promise<string> {
    const key = run[format];
    const report = key === undefined ? undefined : await this.configured().archive.read(key);
    if (report === undefined) {
      throw FhirError.notFound(`The report of analytics run ${run.runId} for this tenant is gone`);
    }
    return report;
  }

  async latest(tenant: TenantId, format: ReportFormat): Promise<string> {
    const report = await this.configured().archive.latest(tenant, format);
    if (report === undefined) {
      throw FhirError.notFound('No analytics report yet for this tenant: POST /$analytics starts one');
    }
    return report;
  }
}
