/**
 * What an ingest tells its user: the plan, a progress bar (one line redrawn with `\r` on a
 * terminal, a plain line every few seconds in a log), and the final summary.
 */
import type { Counts, IngestSummary } from './ingest.js';

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface PlanFigures {
  readonly folder: string;
  readonly format: IngestSummary['format'];
  readonly files: number;
  readonly units: number;
  readonly resources: number;
  readonly skipped: { readonly units: number; readonly resources: number };
}

export interface Progress {
  advance(resources: number): void;
  finish(): void;
}

const TTY_REDRAW_MS = 100;
const LOG_LINE_MS = 5_000;
const BAR_WIDTH = 30;

export function writePlanLine(out: ProgressOutput, plan: PlanFigures): void {
  const units =
    plan.format === 'ndjson'
      ? `${count(plan.files)} NDJSON files in ${count(plan.units)} transaction Bundles`
      : `${count(plan.files)} Bundle files`;
  const unitNoun = plan.format === 'ndjson' ? 'Bundles' : 'files';
  out.write(
    `${plan.folder}: ${units}, ${count(plan.resources)} resources; ` +
      `already loaded: ${count(plan.skipped.units)} ${unitNoun}, ${count(plan.skipped.resources)} resources\n`,
  );
}

/** A progress bar over `total` things called `noun` (ingest, reindex). */
export function startProgress(out: ProgressOutput, total: number, noun = 'resources'): Progress {
  const started = performance.now();
  let done = 0;
  let drawnAt = started;
  let drawnDone = -1;
  const draw = (final: boolean) => {
    drawnAt = performance.now();
    drawnDone = done;
    const seconds = (drawnAt - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = done === total ? '0 s' : rate > 0 ? formatDuration(((total - done) / rate) * 1000) : '?';
    const fraction = total === 0 ? 1 : done / total;
    const text = `${count(done)}/${count(total)} ${noun} ${Math.floor(Math.min(1, fraction) * 100)}%  ${count(Math.round(rate))}/s  ETA ${eta}`;
    if (out.isTTY) {
      const filled = Math.round(Math.min(1, fraction) * BAR_WIDTH);
      out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${text}\x1b[K${final ? '\n' : ''}`);
    } else {
      out.write(`${text}\n`);
    }
  };
  if (out.isTTY) {
    draw(false);
  }
  return {
    advance(resources) {
      done += resources;
      if (performance.now() - drawnAt >= (out.isTTY ? TTY_REDRAW_MS : LOG_LINE_MS)) {
        draw(false);
      }
    },
    finish() {
      // A log already has the last line when the last unit happened to print one.
      if (out.isTTY || drawnDone !== done) {
        draw(true);
      }
    },
  };
}

export function formatCount(value: number): string {
  return count(value);
}

export function formatSummary(summary: IngestSummary): string {
  const seconds = summary.elapsedMs / 1000;
  const lines = [
    `${summary.format === 'ndjson' ? 'Bundles  ' : 'Files    '}  ${counts(summary.units)}`,
    `Resources  ${counts(summary.resources)}`,
    `Elapsed    ${formatDuration(summary.elapsedMs)}, ${count(Math.round(seconds > 0 ? summary.resources.loaded / seconds : 0))} resources/s`,
  ];
  if (summary.failures.length > 0) {
    lines.push('Failed:', ...summary.failures.map(({ unit, status, message }) => `  ${unit}: ${status === undefined ? '' : `${status} `}${message}`));
  }
  return lines.join('\n');
}

function counts({ loaded, failed, skipped }: Counts): string {
  return `${count(loaded)} loaded, ${count(failed)} failed, ${count(skipped)} already loaded`;
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** `4.2 s`, `3m 05s`, `1h 02m`. */
function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes}m ${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  }
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
