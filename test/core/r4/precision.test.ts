import { describe, expect, it } from 'vitest';
import { dateRange, decimalRange, normalizeString } from '../../../core/r4/precision.js';

const ms = (iso: string): number => Date.parse(iso);

describe('dateRange', () => {
  it.each([
    ['1974', '1974-01-01T00:00:00.000Z', '1974-12-31T23:59:59.999Z'],
    ['1974-12', '1974-12-01T00:00:00.000Z', '1974-12-31T23:59:59.999Z'],
    ['2024-02', '2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z'],
    ['1974-12-25', '1974-12-25T00:00:00.000Z', '1974-12-25T23:59:59.999Z'],
    ['1974-12-31', '1974-12-31T00:00:00.000Z', '1974-12-31T23:59:59.999Z'],
    ['1974-12-25T14:35', '1974-12-25T14:35:00.000Z', '1974-12-25T14:35:59.999Z'],
    ['1974-12-25T14:35:45', '1974-12-25T14:35:45.000Z', '1974-12-25T14:35:45.999Z'],
    ['1974-12-25T14:35:45Z', '1974-12-25T14:35:45.000Z', '1974-12-25T14:35:45.999Z'],
    ['1974-12-25T14:35:45.1', '1974-12-25T14:35:45.100Z', '1974-12-25T14:35:45.199Z'],
    ['1974-12-25T14:35:45.12', '1974-12-25T14:35:45.120Z', '1974-12-25T14:35:45.129Z'],
    ['1974-12-25T14:35:45.123', '1974-12-25T14:35:45.123Z', '1974-12-25T14:35:45.123Z'],
    // Below the millisecond: the millisecond that holds it.
    ['1974-12-25T14:35:45.123456', '1974-12-25T14:35:45.123Z', '1974-12-25T14:35:45.123Z'],
    ['2015-02-07T13:28:17-05:00', '2015-02-07T18:28:17.000Z', '2015-02-07T18:28:17.999Z'],
    ['2015-02-07T13:28:17.239+02:00', '2015-02-07T11:28:17.239Z', '2015-02-07T11:28:17.239Z'],
    ['2015-02-07T00:30+14:00', '2015-02-06T10:30:00.000Z', '2015-02-06T10:30:59.999Z'],
    // Years below 100 are not shifted into the 1900s.
    ['0050-03-01', '0050-03-01T00:00:00.000Z', '0050-03-01T23:59:59.999Z'],
  ])('%s → [%s, %s]', (text, start, end) => {
    const range = dateRange(text);
    expect(range).toBeDefined();
    expect(new Date(range?.start ?? NaN).toISOString()).toBe(start);
    expect(new Date(range?.end ?? NaN).toISOString()).toBe(end);
  });

  it('reads a time without a timezone as UTC', () => {
    expect(dateRange('2020-06-01T12:00:00')).toEqual(dateRange('2020-06-01T12:00:00Z'));
  });

  it('counts a leap second as the first second of the next minute', () => {
    expect(dateRange('2016-12-31T23:59:60Z')?.start).toBe(ms('2017-01-01T00:00:00Z'));
  });

  it.each(['', 'notadate', '74', '1974-13', '1974-00', '2023-02-29', '1974-12-32', '1974-12-25T24:00', '1974-12-25T14:60', '1974-12-25T14', '1974-12-25 14:35', '2015-02-07T13:28:17+15:00', '2015-02-07T13:28:17+05:60', '0000'])(
    'rejects %j',
    (text) => {
      expect(dateRange(text)).toBeUndefined();
    },
  );
});

describe('decimalRange', () => {
  it.each([
    ['100', 100, 99.5, 100.5],
    ['100.00', 100, 99.995, 100.005],
    ['100.0', 100, 99.95, 100.05],
    ['-100', -100, -100.5, -99.5],
    ['0', 0, -0.5, 0.5],
    ['0.05', 0.05, 0.045, 0.055],
    ['5.4', 5.4, 5.35, 5.45],
    ['+3.0', 3, 2.95, 3.05],
    // Exponents: R4's table gives [95, 105) for 1e2 (see precision.ts): half a unit below the mantissa's next place.
    ['1e2', 100, 95, 105],
    ['1.0e2', 100, 99.5, 100.5],
    ['1.1E2', 110, 109.5, 110.5],
    ['25e-1', 2.5, 2.495, 2.505],
  ])('%s → %d in [%d, %d]', (text, value, low, high) => {
    expect(decimalRange(text)).toEqual({ value, low, high });
  });

  it.each(['', 'abc', '1,5', '1.', '.5', '1e', '--1', '1e400', 'Infinity', 'NaN'])('rejects %j', (text) => {
    expect(decimalRange(text)).toBeUndefined();
  });
});

describe('normalizeString', () => {
  it.each([
    ['Zoë', 'zoe'],
    ['MÜLLER-Lüdenscheidt', 'muller-ludenscheidt'],
    ['Besançon', 'besancon'],
    ['  Jean \t\n Pierre  ', 'jean pierre'],
    ['İstanbul', 'istanbul'],
    // Only combining diacritical marks go: letters that do not decompose stay as they are.
    ['Øre straße', 'øre straße'],
  ])('%j → %j', (text, normalized) => {
    expect(normalizeString(text)).toBe(normalizeString(normalized));
    expect(normalizeString(text)).toBe(normalized);
  });
});
