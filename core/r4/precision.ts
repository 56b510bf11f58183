/**
 * The implicit ranges of FHIR values (R4 search.html#prefix): a date, a number or a quantity
 * written with some precision stands for every value it would round to. Shared by the value
 * extractor and the query parser, so that a stored value and a searched value mean the same thing.
 */

/** Inclusive epoch-millisecond bounds of a date/dateTime/instant at its precision. */
export interface DateRange {
  readonly start: number;
  readonly end: number;
}

/** A decimal and the inclusive bounds implied by its significant figures. */
export interface DecimalRange {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

// R4 date/dateTime/instant, plus the `hh:mm` precision that search values may use.
const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const MAX_OFFSET_MINUTES = 14 * 60;

/**
 * `1974` → the whole year, `1974-12-25T14:35` → that minute, `...:45.1` → that tenth of a second.
 * A time without a timezone is read as UTC: R4 says "server local time", which a Lambda fleet does
 * not have, and UTC keeps the range the same on every host. Undefined when the text is not a
 * valid FHIR date, dateTime or instant.
 */
export function dateRange(text: string): DateRange | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) {
    return undefined;
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const fields = [Number(year), Number(month ?? 1) - 1, Number(day ?? 1), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0)] as const;
  const offset = zone === undefined ? 0 : zoneOffsetMinutes(zone);
  if (!validFields(...fields) || offset === undefined) {
    return undefined;
  }
  const fractionMs = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
  const start = utcMillis(...fields) + fractionMs - offset * 60_000;
  return { start, end: precisionEnd(start, fields, { month, day, hour, second, fraction }) - 1 };
}

/**
 * `100` → [99.5, 100.5], `100.00` → [99.995, 100.005]: half a unit in the last significant place.
 * In exponent form R4's table gives `1e2` → [95, 105) (while calling it one significant figure,
 * which would be [50, 150]); we follow the table, the spec's only worked example: the range is
 * half a unit one place below the mantissa's last digit.
 * Undefined when the text is not a decimal.
 */
export function decimalRange(text: string): DecimalRange | undefined {
  const match = DECIMAL.exec(text);
  if (!match) {
    return undefined;
  }
  const [, sign, integerDigits, fractionDigits = '', exponent] = match;
  // value = mantissa × 10^scale, with the mantissa an integer whose last digit is the last significant one.
  const mantissa = BigInt(`${sign}${integerDigits}${fractionDigits}`);
  const scale = Number(exponent ?? '0') - fractionDigits.length;
  // The half unit sits one decimal place below the last digit (two with an exponent, per the table).
  const places = exponent === undefined ? 1 : 2;
  const unit = 10n ** BigInt(places);
  // Bounds as decimal text, parsed once, so that 99.995 is the double nearest 99.995 and not 100 - 0.005.
  const low = Number(`${mantissa * unit - 5n}e${scale - places}`);
  const high = Number(`${mantissa * unit + 5n}e${scale - places}`);
  const value = Number(text);
  return Number.isFinite(value) && Number.isFinite(low) && Number.isFinite(high) ? { value, low, high } : undefined;
}

/**
 * The form strings are compared in (R4 string search is case- and accent-insensitive): lower case,
 * combining diacritical marks removed after canonical decomposition (what HAPI does), runs of
 * white space folded to one space, trimmed.
 */
export function normalizeString(value: string): string {
  return value
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `Z` → 0, `+05:30` → 330; undefined beyond the ±14:00 that ISO 8601 zones reach. */
function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === 'Z') {
    return 0;
  }
  const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
  if (minutes > MAX_OFFSET_MINUTES || Number(zone.slice(4, 6)) > 59) {
    return undefined;
  }
  return zone.startsWith('-') ? -minutes : minutes;
}

/** Seconds may be 60 (R4's regex allows a leap second); it then counts as the next minute's first second. */
function validFields(year: number, monthIndex: number, day: number, hour: number, minute: number, second: number): boolean {
  return (
    year >= 1 &&
    monthIndex >= 0 &&
    monthIndex <= 11 &&
    day >= 1 &&
    day <= daysInMonth(year, monthIndex) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 60
  );
}

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(utcMillis(year, monthIndex + 1, 0, 0, 0, 0)).getUTCDate();
}

/** Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not. */
function utcMillis(year: number, monthIndex: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** The first millisecond after the range: one unit of the finest field written later than `start`. */
function precisionEnd(
  start: number,
  [year, monthIndex, day, hour, minute, second]: readonly [number, number, number, number, number, number],
  written: { readonly month?: string; readonly day?: string; readonly hour?: string; readonly second?: string; readonly fraction?: string },
): number {
  if (written.fraction) {
    // Below a millisecond the range cannot be narrower than the millisecond that holds it.
    return start + Math.max(1, 10 ** (3 - written.fraction.length));
  }
  if (written.second) {
    return start + 1000;
  }
  if (written.hour) {
    return start + 60_000;
  }
  // Dates carry no zone, so calendar units are computed in UTC from the written fields.
  if (written.day) {
    return utcMillis(year, monthIndex, day + 1, hour, minute, second);
  }
  if (written.month) {
    return utcMillis(year, monthIndex + 1, 1, 0, 0, 0);
  }
  return utcMillis(year + 1, 0, 1, 0, 0, 0);
}
