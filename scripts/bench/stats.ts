/** Summaries of timing samples, in milliseconds. */

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile (no interpolation: every figure is a latency that was observed). */
export function percentile(ascending: readonly number[], p: number): number {
  const rank = Math.min(ascending.length, Math.max(1, Math.ceil((p / 100) * ascending.length)));
  return ascending[rank - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) {
    throw new Error('No samples to summarize');
  }
  const ascending = [...samples].sort((a, b) => a - b);
  return {
    n: ascending.length,
    p50: round(percentile(ascending, 50)),
    p99: round(percentile(ascending, 99)),
    min: round(ascending[0]!),
    max: round(ascending[ascending.length - 1]!),
  };
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Two decimals: enough for milliseconds and capacity units, short enough to read. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
