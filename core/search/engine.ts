/**
 * What a search engine answers, whichever it is (DynamoDB now, OpenSearch later), and the
 * ordering and paging of a complete match list by keyset cursors: a cursor names the last (or
 * first) position of a page by its sort key and `Type/id`, so pages stay stable while resources
 * are added or removed elsewhere in the order.
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { TenantId } from '../tenant.js';
import { decodeCursor, encodeCursor } from '../storage/cursor.js';
import { compareSortPositions, DEFAULT_SORT, sortKey, type SortKeyPart } from './sort.js';
import type { SearchQuery } from './types.js';

export interface SearchResult {
  readonly matches: Resource[];
  /** `_include`/`_revinclude` results, none of them also a match. */
  readonly included: Resource[];
  /** Absent with `_total=none`. */
  readonly total?: number;
  readonly next?: string;
  readonly previous?: string;
}

export interface SearchEngine {
  search(tenant: TenantId, query: SearchQuery): Promise<SearchResult>;
}

export interface Position {
  readonly key: readonly SortKeyPart[];
  readonly ref: string;
}

export interface PageCursor extends Position {
  /** true: the page ends before this position (a `previous` link); false: it starts after it. */
  readonly before: boolean;
}

/** A keyset cursor (both engines use this form): the position as sort key and `Type/id`. */
export function encodePageCursor(position: Position, before: boolean): string {
  return encodeCursor({ k: JSON.stringify(position.key), r: position.ref, b: before ? 1 : 0 });
}

export function decodePageCursor(cursor: string): PageCursor {
  const decoded = decodeCursor<{ k: string; r: string; b: number }>(cursor, { k: 'string', r: 'string', b: 'number' });
  try {
    const key = JSON.parse(decoded.k) as unknown;
    if (Array.isArray(key) && key.every((part) => part === null || typeof part === 'string' || typeof part === 'number')) {
      return { key, ref: decoded.r, before: decoded.b === 1 };
    }
  } catch {
    // fall through to the error below
  }
  throw FhirError.badRequest('Invalid paging cursor', '_cursor');
}

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
