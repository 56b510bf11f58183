/**
 * What a long-running command (ingest, reindex) shows while it works: a progress bar, one line
 * redrawn with `\r` on a terminal, a plain line every few seconds in a log.
 */

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Progress {
  /** `amount` more of the `total` are done. */
  advance(amount: number): void;
  finish(): void;
}

const TTY_REDRAW_MS = 100;
const LOG_LINE_MS = 5_000;
const BAR_WIDTH = 30;

/** A progress bar over `total` things called `noun`. */
export function startProgress(out: ProgressOutput, total: number, noun: string): Progress {
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
    const text = `${formatCount(done)}/${formatCount(total)} ${noun} ${Math.floor(Math.min(1, fraction) * 100)}%  ${formatCount(Math.round(rate))}/s  ETA ${eta}`;
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
    advance(amount) {
      done += amount;
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

/** `12,345`. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** `4.2 s`, `3m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
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
