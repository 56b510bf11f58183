/**
 * What an ingest tells its user besides the progress bar (cli/progress.ts): the plan, and the
 * final summary.
 */
import { formatCount, formatDuration, type ProgressOutput } from '../cli/progress.js';
import type { Counts, IngestSummary } from './summary.js';

export interface PlanFigures {
  readonly folder: string;
  readonly format: IngestSummary['format'];
  readonly files: number;
  readonly units: number;
  readonly resources: number;
  readonly skipped: { readonly units: number; readonly resources: number };
}

export function writePlanLine(out: ProgressOutput, plan: PlanFigures): void {
  const units =
    plan.format === 'ndjson'
      ? `${formatCount(plan.files)} NDJSON files in ${formatCount(plan.units)} transaction Bundles`
      : `${formatCount(plan.files)} Bundle files`;
  const unitNoun = plan.format === 'ndjson' ? 'Bundles' : 'files';
  out.write(
    `${plan.folder}: ${units}, ${formatCount(plan.resources)} resources; ` +
      `already loaded: ${formatCount(plan.skipped.units)} ${unitNoun}, ${formatCount(plan.skipped.resources)} resources\n`,
  );
}

export function formatSummary(summary: IngestSummary): string {
  const seconds = summary.elapsedMs / 1000;
  const lines = [
    `${summary.format === 'ndjson' ? 'Bundles  ' : 'Files    '}  ${counts(summary.units)}`,
    `Resources  ${counts(summary.resources)}`,
    `Elapsed    ${formatDuration(summary.elapsedMs)}, ${formatCount(Math.round(seconds > 0 ? summary.resources.loaded / seconds : 0))} resources/s`,
  ];
  if (summary.failures.length > 0) {
    lines.push('Failed:', ...summary.failures.map(({ unit, status, message }) => `  ${unit}: ${status === undefined ? '' : `${status} `}${message}`));
  }
  return lines.join('\n');
}

function counts({ loaded, failed, skipped }: Counts): string {
  return `${formatCount(loaded)} loaded, ${formatCount(failed)} failed, ${formatCount(skipped)} already loaded`;
}
