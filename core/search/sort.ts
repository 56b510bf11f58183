/**
 * `_sort` (R4 search.html#sort) as comparable keys: each rule gives one key per resource, the
 * smallest value when ascending and the largest when descending; resources without a value sort
 * last either way. `Type/id` breaks ties, so the order is total and paging by key is stable.
 */
import type { Resource } from '@medplum/fhirtypes';
import { extractValues } from '../r4/extract.js';
import { referenceKey } from '../r4/extract.js';
import type { SortRule } from './types.js';
import type { IndexValue } from '../r4/search-types.js';

export type SortKeyPart = string | number | null;

/**
 * Open ends of date ranges (a Period without start or end: ±Infinity in an IndexValue) as finite
 * sort values, since a cursor holds its key as JSON, which has no infinities. Every real FHIR
 * instant (years 1–9999, |ms| < 2.6e14) lies strictly between them, so the order is unchanged.
 */
export const OPEN_END = Number.MAX_SAFE_INTEGER;

/** ±Infinity as ±OPEN_END; any other number unchanged. */
export function finite(value: number): number {
  return value === Infinity ? OPEN_END : value === -Infinity ? -OPEN_END : value;
}

/** The default order: most recently updated first. */
export const DEFAULT_SORT: readonly SortRule[] = [{ param: '_lastUpdated', descending: true }];

function comparable(value: IndexValue, descending: boolean): string | number | undefined {
  switch (value.type) {
    case 'string':
      return value.normalized;
    case 'token':
      return value.code;
    case 'reference':
      return referenceKey(value);
    case 'date':
      return finite(descending ? value.end : value.start);
    case 'number':
    case 'quantity':
      return value.value;
    case 'uri':
      return value.value;
    case 'composite':
      return undefined;
  }
}

export function sortKey(resource: Resource, rules: readonly SortRule[]): SortKeyPart[] {
  return rules.map((rule) => {
    if (rule.param === '_id') {
      return resource.id ?? null;
    }
    if (rule.param === '_lastUpdated') {
      return resource.meta?.lastUpdated ? Date.parse(resource.meta.lastUpdated) : null;
    }
    const values = extractValues(resource, rule.param)
      .map((value) => comparable(value, rule.descending))
      .filter((value): value is string | number => value !== undefined);
    if (values.length === 0) {
      return null;
    }
    return values.reduce((best, value) => ((rule.descending ? value > best : value < best) ? value : best));
  });
}

function comparePart(a: SortKeyPart, b: SortKeyPart, descending: boolean): number {
  if (a === b) {
    return 0;
  }
  if (a === null) {
    return 1;
  }
  if (b === null) {
    return -1;
  }
  const order = a < b ? -1 : 1;
  return descending ? -order : order;
}

/** Compares two (key, `Type/id`) positions under `rules`. */
export function compareSortPositions(rules: readonly SortRule[], a: { key: readonly SortKeyPart[]; ref: string }, b: { key: readonly SortKeyPart[]; ref: string }): number {
  for (const [index, rule] of rules.entries()) {
    const order = comparePart(a.key[index] ?? null, b.key[index] ?? null, rule.descending);
    if (order !== 0) {
      return order;
    }
  }
  return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
}
