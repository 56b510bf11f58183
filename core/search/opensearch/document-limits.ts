/**
 * What OpenSearch takes in one document, and the degraded form of a resource beyond it: indexing
 * must never stall on one resource (the stream retries a failed record, and the records after it
 * in its shard wait), so a resource is always indexed, at worst incompletely, and says what is
 * missing in `indexIssues` (listed by index-issues.ts, logged by the indexer).
 *
 * - More values than `index.mapping.nested_objects.limit` allows: each parameter keeps an equal
 *   share of the room (small ones all their values), the largest lose their last values.
 * - Keyword values over `MAX_KEYWORD_CHARS`: kept as their first characters, so that they stay
 *   findable by prefix (queries compare over-long values the same way, dsl.ts).
 * - Anything else OpenSearch refuses (the indexer learns it from the bulk answer): the identity
 *   document, findable by type, `_id` and `_lastUpdated` (document.ts).
 */
import type { IndexIssue, SearchDocument, ValueDocument, ValueFields } from './document.js';

/**
 * Longest keyword value indexed: the mapping's `ignore_above`. Lucene refuses terms over 32,766
 * UTF-8 bytes, and a UTF-16 unit takes at most 3 of them.
 */
export const MAX_KEYWORD_CHARS = 8_191;

/** OpenSearch's default `index.mapping.nested_objects.limit`, set on the index (mapping.ts). */
export const NESTED_OBJECTS_LIMIT = 10_000;

/** The part of `value` the index keeps: at most `MAX_KEYWORD_CHARS`, never half a surrogate pair. */
export function keptPrefix(value: string): string {
  if (value.length <= MAX_KEYWORD_CHARS) {
    return value;
  }
  const end = isHighSurrogate(value.charCodeAt(MAX_KEYWORD_CHARS - 1)) ? MAX_KEYWORD_CHARS - 1 : MAX_KEYWORD_CHARS;
  return value.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** `document` within the limits above, with an issue per parameter that lost values or characters. */
export function withinLimits(document: SearchDocument): SearchDocument {
  const issues: IndexIssue[] = [];
  const shortened = new Set<string>();
  const values = capValues(document.values, issues).map((value) => {
    if (![value, ...(value.parts ?? [])].some(hasOverLongField)) {
      return value;
    }
    shortened.add(value.param);
    return { ...keptFields(value), ...(value.parts ? { parts: value.parts.map(keptFields) } : {}) };
  });
  for (const param of shortened) {
    issues.push({ kind: 'value-shortened', param, detail: `values over ${MAX_KEYWORD_CHARS} characters are indexed as their first ${MAX_KEYWORD_CHARS}` });
  }
  return issues.length === 0 ? document : { ...document, values, indexIssues: issues };
}

/** Keyword fields are strings or arrays of strings (identifierTypes); numbers are never long. */
function hasOverLongField(fields: ValueFields): boolean {
  return Object.values(fields).some((field) => [field].flat().some((item) => typeof item === 'string' && item.length > MAX_KEYWORD_CHARS));
}

function keptFields<T extends ValueFields>(fields: T): T {
  const kept = (field: unknown): unknown => (typeof field === 'string' ? keptPrefix(field) : Array.isArray(field) ? field.map(kept) : field);
  const copy = { ...fields };
  for (const [name, field] of Object.entries(fields)) {
    (copy as Record<string, unknown>)[name] = kept(field);
  }
  return copy;
}

/** Nested objects a value takes: itself and its composite parts. */
function nestedCost(value: ValueDocument): number {
  return 1 + (value.parts?.length ?? 0);
}

/**
 * The values within `NESTED_OBJECTS_LIMIT`, in their order: parameters from the smallest up each
 * get an equal share of the room left, so only the largest lose values, and each loses its last.
 */
function capValues(values: readonly ValueDocument[], issues: IndexIssue[]): readonly ValueDocument[] {
  if (values.reduce((sum, value) => sum + nestedCost(value), 0) <= NESTED_OBJECTS_LIMIT) {
    return values;
  }
  const byParam = new Map<string, ValueDocument[]>();
  for (const value of values) {
    const group = byParam.get(value.param);
    if (group) {
      group.push(value);
    } else {
      byParam.set(value.param, [value]);
    }
  }
  const cost = (group: readonly ValueDocument[]) => group.reduce((sum, value) => sum + nestedCost(value), 0);
  const groups = [...byParam.values()].sort((a, b) => cost(a) - cost(b));
  const kept = new Set<ValueDocument>();
  let room = NESTED_OBJECTS_LIMIT;
  groups.forEach((group, index) => {
    const share = Math.floor(room / (groups.length - index));
    let used = 0;
    for (const value of group) {
      if (used + nestedCost(value) > share) {
        break;
      }
      used += nestedCost(value);
      kept.add(value);
    }
    room -= used;
    const keptCount = group.filter((value) => kept.has(value)).length;
    if (keptCount < group.length) {
      issues.push({
        kind: 'values-capped',
        param: group[0].param,
        detail: `${keptCount} of ${group.length} values indexed (index.mapping.nested_objects.limit: ${NESTED_OBJECTS_LIMIT} per resource)`,
      });
    }
  });
  return values.filter((value) => kept.has(value));
}
