/**
 * The paging cursor of both search engines: a keyset position, the sort key and `Type/id` of a
 * page's last (or first) resource, so pages stay stable while resources are added or removed
 * elsewhere in the order. Encoded with the storage cursor codec (storage/cursor.ts), the one
 * codec of every opaque cursor.
 */
import { FhirError } from '../errors.js';
import { decodeCursor, encodeCursor } from '../storage/cursor.js';
import type { SortKeyPart } from './sort.js';

export interface Position {
  readonly key: readonly SortKeyPart[];
  readonly ref: string;
}

export interface PageCursor extends Position {
  /** true: the page ends before this position (a `previous` link); false: it starts after it. */
  readonly before: boolean;
}

/** The cursor of a page starting after `position`, or with `before`, ending before it. */
export function encodePageCursor(position: Position, before: boolean): string {
  return encodeCursor({ k: JSON.stringify(position.key), r: position.ref, b: before ? 1 : 0 });
}

/** The position a cursor names; a 400 for anything not made by `encodePageCursor`. */
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

