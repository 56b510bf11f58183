/**
 * The calendar the report counts in, shared by both aggregation paths so that they bucket alike:
 * UTC months and ISO weeks (starting Monday) of epoch-millisecond instants, and age bands as
 * ranges of birth dates relative to the report's as-of day. Instants come from the values the
 * search index holds (core/r4/extract.ts: a date's `start`), so a date's precision and time zone
 * are read once, the same way, on either path.
 */

const DAY_MS = 86_400_000;

/** `2024-05` of an instant, in UTC. */
export function monthOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 7);
}

/** The Monday (`2024-05-27`, UTC) starting the ISO week of an instant; OpenSearch's `week` interval starts there too. */
export function weekOf(epochMs: number): string {
  const day = Math.floor(epochMs / DAY_MS) * DAY_MS;
  // 1970-01-01 was a Thursday: (days + 3) mod 7 counts the days since Monday.
  const sinceMonday = (((Math.floor(day / DAY_MS) + 3) % 7) + 7) % 7;
  return new Date(day - sinceMonday * DAY_MS).toISOString().slice(0, 10);
}

export interface AgeBand {
  readonly label: string;
  /** Age in whole years, inclusive. */
  readonly minAge: number;
  /** Exclusive; undefined: no upper bound. */
  readonly maxAge?: number;
}

export const AGE_BANDS: readonly AgeBand[] = [
  { label: '0-17', minAge: 0, maxAge: 18 },
  { label: '18-34', minAge: 18, maxAge: 35 },
  { label: '35-49', minAge: 35, maxAge: 50 },
  { label: '50-64', minAge: 50, maxAge: 65 },
  { label: '65-79', minAge: 65, maxAge: 80 },
  { label: '80+', minAge: 80 },
];

/** Patients without a birth date, or born after the as-of day. */
export const UNKNOWN_AGE = 'unknown';

/** A band as a range of birth instants: `from` inclusive, `to` exclusive (epoch ms), as OpenSearch's range aggregation takes them. */
export interface BirthRange {
  readonly label: string;
  readonly from?: number;
  readonly to?: number;
}

/**
 * The birth instants of each band on the as-of day: someone is `n` or older once the as-of day
 * is on or after their `n`th birthday, so band [lo, hi) holds births after the as-of day minus
 * `hi` years and up to the as-of day minus `lo` years (whole days, UTC).
 */
export function birthRanges(asOf: string): BirthRange[] {
  const day = new Date(asOf);
  const yearsBefore = (years: number) => Date.UTC(day.getUTCFullYear() - years, day.getUTCMonth(), day.getUTCDate()) + DAY_MS;
  return AGE_BANDS.map((band) => ({
    label: band.label,
    ...(band.maxAge === undefined ? {} : { from: yearsBefore(band.maxAge) }),
    to: yearsBefore(band.minAge),
  }));
}

/** The band of a birth instant, `UNKNOWN_AGE` when it lies after the as-of day. */
export function ageBandOf(birthStart: number, ranges: readonly BirthRange[]): string {
  const band = ranges.find((range) => (range.from === undefined || birthStart >= range.from) && (range.to === undefined || birthStart < range.to));
  return band?.label ?? UNKNOWN_AGE;
}

/** 10000-01-01T00:00:00Z: every real FHIR instant lies within ± this; an open Period end (±Infinity, or its finite stand-in in the index) does not. */
export const INSTANT_LIMIT_MS = 253_402_300_800_000;

export function isRealInstant(epochMs: number): boolean {
  return Math.abs(epochMs) < INSTANT_LIMIT_MS;
}
