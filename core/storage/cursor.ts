/**
 * Opaque paging cursors. A cursor carries only sort-key positions, never a partition key: the
 * partition is rebuilt from the caller's tenant, so a forged cursor cannot reach another tenant.
 */
import { FhirError } from '../errors.js';

export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<T extends Record<string, string | number>>(cursor: string, shape: { [K in keyof T]: 'string' | 'number' }): T {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw FhirError.badRequest('Invalid paging cursor', '_cursor');
  }
  if (typeof decoded !== 'object' || decoded === null) {
    throw FhirError.badRequest('Invalid paging cursor', '_cursor');
  }
  for (const [key, type] of Object.entries(shape)) {
    if (typeof (decoded as Record<string, unknown>)[key] !== type) {
      throw FhirError.badRequest('Invalid paging cursor', '_cursor');
    }
  }
  return decoded as T;
}
