/**
 * A run from start to announcement: status `running`, the report (run.ts) with the last run's
 * validation verdicts (verdicts.ts), which it then replaces, its page (render.ts), both stored
 * and announced (reports.ts), status `complete` — or `failed` with the reason, so a client
 * polling the run learns it.
 */
import { renderHtml } from './render.js';
import type { ReportArchive, ReportReady, RunStatus } from './reports.js';
import { type AnalyticsSources, buildReport, type RunOptions } from './run.js';
import { ValidationVerdicts } from './verdicts.js';

export async function runAnalytics(
  archive: ReportArchive,
  sources: AnalyticsSources,
  options: Omit<RunOptions, 'asOf'>,
): Promise<ReportReady> {
  const asOf = new Date().toISOString();
  const requestedAt = (await archive.status(options.tenant, options.runId))?.requestedAt ?? asOf;
  const status = (fields: Pick<RunStatus, 'status'> & Partial<RunStatus>): RunStatus => ({ runId: options.runId, requestedAt, updatedAt: new Date().toISOString(), ...fields });
  await archive.setStatus(options.tenant, status({ status: 'running' }));
  try {
    const verdicts = new ValidationVerdicts(await archive.verdicts(options.tenant));
    const report = await buildReport(sources, { ...options, asOf, verdicts });
    await archive.saveVerdicts(options.tenant, verdicts.toStored());
    options.onProgress?.('rendering the charts');
    const ready = await archive.publish(report, await renderHtml(report));
    await archive.setStatus(options.tenant, status({ status: 'complete', json: ready.json, html: ready.html }));
    return ready;
  } catch (error) {
    await archive.setStatus(options.tenant, status({ status: 'failed', error: (error as Error).message.slice(0, 500) }));
    throw error;
  }
}
