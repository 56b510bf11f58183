/**
 * Paging of a complete match list in memory (the DynamoDB engine's, which decides every match in
 * process): sorted as `sort.ts` orders, cut at the query's cursor, `_count` long. The OpenSearch
 * engine cuts the same pages in the index (opensearch/keyset.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { SearchResult } from './engine.js';
import { decodePageCursor, encodePageCursor } from './page-cursor.js';
import { compareSortPositions, DEFAULT_SORT, sortKey } from './sort.js';
import type { SearchQuery } from './types.js';

/** Sorts every match, counts them, and cuts the page the query's cursor and `_count` ask for. */
export function pageOf(matches: readonly Resource[], query: SearchQuery): Omit<SearchResult, 'included'> {
  const rules = query.sort.length > 0 ? query.sort : DEFAULT_SORT;
  const ordered = matches
    .map((resource) => ({ resource, key: sortKey(resource, rules), ref: `${resource.resourceType}/${resource.id}` }))
    .sort((a, b) => compareSortPositions(rules, a, b));
  const total = query.total === 'none' ? undefined : ordered.length;
  if (query.summary === 'count' || query.count === 0) {
    return { matches: [], total: ordered.length };
  }
  let start = 0;
  if (query.cursor) {
    const cursor = decodePageCursor(query.cursor);
    const firstAfter = ordered.findIndex((item) => compareSortPositions(rules, item, cursor) > 0);
    const boundary = firstAfter === -1 ? ordered.length : firstAfter;
    if (cursor.before) {
      const end = ordered.findIndex((item) => compareSortPositions(rules, item, cursor) >= 0);
      start = Math.max(0, (end === -1 ? ordered.length : end) - query.count);
    } else {
      start = boundary;
    }
  }
  const page = ordered.slice(start, start + query.count);
  const first = page[0];
  const last = page[page.length - 1];
  return {
    matches: page.map((item) => item.resource),
    total,
    next: last && start + page.length < ordered.length ? encodePageCursor(last, false) : undefined,
    previous: first && start > 0 ? encodePageCursor(first, true) : undefined,
  };
}
